import type { EntityManager } from 'typeorm';
import type {
  AffectedFirmwareRuleFact,
  CommsHubAlertFact,
  CommsHubAssociationFact,
  DeviceFact,
  EngineSettings,
  FirmwareActivationFact,
  SupplyRestoredAlertCode,
  SupplyRestoredAlertFact,
  VerificationFact,
  VerificationStatus,
} from '../../domain/engine';
import type {
  ActivationOutcomeCode,
  ActivationStatus,
  DecisionOutcome,
  DeliveryPreference,
  DeviceType,
  SmiStatus,
} from '../../domain/model';
import { preparedQuery } from '../../db/prepared';
import type { AlertEntity } from '../../entities';
import { budgetCountsSql } from './safety-budget';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
export const MINUTE_MS = 60_000;

/** How far around an outage start activations and restores are looked for (generous: windows re-anchor). */
const ACTIVATION_LOOKBACK_MS = 2 * DAY_MS;
const FACT_LOOKAHEAD_MS = DAY_MS;

/** A timestamptz as epoch milliseconds inside a JSON document (robust to any session time zone). */
const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

/**
 * Every fact about a batch of AD1s in one statement: each kind of fact is a JSON array of
 * tuples in its own column. A transaction is one connection, so separate statements are one
 * round trip each (ten, when this was split), and on a loaded machine a round trip costs more
 * than the query behind it. Each subquery keeps the index path its own statement had: arrays are
 * computed once (the MATERIALIZED CTEs) and compared with `= ANY`. Identifiers are text: JSON
 * numbers would round a bigint.
 */
const FACTS_STATEMENT = `
  WITH links AS MATERIALIZED (
    SELECT comms_hub_guid, esme_guid, effective_from, effective_to
      FROM comms_hub_link WHERE comms_hub_guid = ANY($1::bpchar[])
  ), related AS MATERIALIZED (
    SELECT ARRAY(SELECT DISTINCT esme_guid FROM links) AS esmes,
           ARRAY(SELECT unnest($1::bpchar[]) UNION SELECT esme_guid FROM links) AS guids
  ), activations AS MATERIALIZED (
    SELECT id, request_id, device_guid, status, requested_at, actual_executed_at, outcome_code, image_hash,
           target_firmware_version, firmware_version_before, submitted_at, outcome_received_at,
           (execute_at IS NULL) AS immediate
      FROM firmware_activation
     WHERE device_guid = ANY((SELECT guids FROM related)::bpchar[]) AND requested_at BETWEEN $2 AND $3
  ), candidate_areas AS MATERIALIZED (
    -- Areas of the alerts that can be candidates: only an alert with an activation of its hub or
    -- of an ESME linked to it can be, and only a candidate's decision looks at its neighbours.
    SELECT ARRAY(
      SELECT DISTINCT t.area FROM unnest($11::bpchar[], $12::text[]) AS t(ch, area)
       WHERE t.area IS NOT NULL
         AND (t.ch IN (SELECT device_guid FROM activations)
              OR t.ch IN (SELECT comms_hub_guid FROM links
                           WHERE esme_guid IN (SELECT device_guid FROM activations)))) AS areas
  )
  SELECT
    (SELECT json_agg(json_build_array(comms_hub_guid, esme_guid, ${ms('effective_from')}, ${ms('effective_to')}))
       FROM links) AS links,
    (SELECT json_agg(json_build_array(guid, device_type, manufacturer, model, smi_status, area_key))
       FROM device WHERE guid = ANY((SELECT guids FROM related)::bpchar[])) AS devices,
    (SELECT json_agg(json_build_array(device_guid, firmware_version, ${ms('effective_from')}))
       FROM device_firmware WHERE device_guid = ANY((SELECT guids FROM related)::bpchar[])) AS firmware,
    (SELECT json_agg(json_build_array(id, version, device_type, manufacturer, model, affected_firmware_versions,
                                      target_firmware_version, target_image_hash, window_minutes, skew_minutes,
                                      enabled, shadow, executed_window_minutes, max_comms_hub_off_minutes)
                     ORDER BY id)
       FROM affected_firmware_rule) AS rules,
    (SELECT json_agg(json_build_array(id, request_id, device_guid, status, ${ms('requested_at')},
                                      ${ms('actual_executed_at')}, outcome_code, image_hash, target_firmware_version,
                                      firmware_version_before, ${ms('submitted_at')}, ${ms('outcome_received_at')},
                                      immediate))
       FROM activations) AS activations,
    -- The hubs' own AD1s around the batch: they bound each hub's clock, and one under way at an
    -- activation's requested time makes the hub's next AD1 a deferred run (docs/ENGINE.md).
    CASE WHEN EXISTS (SELECT 1 FROM activations) THEN (SELECT json_agg(json_build_array(id::text, device_guid,
                                      ${ms('event_at')}, ${ms('received_at')}, outcome))
       FROM alert
      WHERE kind = 'AD1' AND device_guid = ANY($1::bpchar[]) AND event_at BETWEEN $4 AND $5) END AS hub_alerts,
    (SELECT json_agg(json_build_array(id::text, device_guid, alert_code, ${ms('event_at')}, ${ms('restored_at')},
                                      ${ms('received_at')}))
       FROM alert
      WHERE kind = 'SUPPLY_RESTORED' AND device_guid = ANY((SELECT esmes FROM related)::bpchar[])
        AND event_at BETWEEN $4 AND $5) AS restores,
    -- Every AD1 near a possible candidate (its cluster), and the withheld ones near the others
    -- (a new AD1 may complete a cluster around them: withheldNeighbours). Reading every neighbour
    -- of every alert was half of a 500-alert batch's time in a storm, for alerts that never use it.
    (SELECT json_agg(json_build_array(id::text, device_guid, area_key, ${ms('event_at')}, throttled_count,
                                      in_activation_window, outcome))
       FROM (SELECT id, device_guid, area_key, event_at, throttled_count, in_activation_window, outcome
               FROM alert WHERE kind = 'AD1' AND area_key = ANY((SELECT areas FROM candidate_areas)::text[])
                AND event_at BETWEEN $7 AND $8
             UNION
             SELECT id, device_guid, area_key, event_at, throttled_count, in_activation_window, outcome
               FROM alert WHERE kind = 'AD1' AND outcome IN ('HELD', 'SUPPRESSED', 'PAIRED')
                AND area_key = ANY($6::text[]) AND event_at BETWEEN $7 AND $8) n) AS neighbours,
    -- The safety-budget counters (per minute, see safety-budget.ts). The engine reads a budget
    -- only for an alert with a candidate, and there is none without an activation of one of the
    -- batch's devices in range: then they are not read at all.
    EXISTS (SELECT 1 FROM activations) AS budget_counted,
    CASE WHEN EXISTS (SELECT 1 FROM activations) THEN (SELECT json_agg(json_build_array(key, suppressions, alerts))
       FROM (${budgetCountsSql('DNO', '$9::bpchar[]', '$10')}) c) END AS dno_budgets,
    CASE WHEN EXISTS (SELECT 1 FROM activations) THEN (SELECT json_agg(json_build_array(key, suppressions, alerts))
       FROM (${budgetCountsSql('AREA', '(SELECT areas FROM candidate_areas)', '$10')}) c) END AS area_budgets,
    -- Verification requests to the batch's devices since the outages started (none without a
    -- candidate, so not read without an activation in range, like the budgets).
    CASE WHEN EXISTS (SELECT 1 FROM activations) THEN (SELECT json_agg(json_build_array(id::text, device_guid,
                                      ${ms('requested_at')}, ${ms('timeout_at')}, status, ${ms('answered_at')},
                                      firmware_version, ${ms('answer_received_at')}))
       FROM verification_request
      WHERE device_guid = ANY((SELECT guids FROM related)::bpchar[]) AND requested_at >= $4) END AS verifications,
    (SELECT json_agg(json_build_array(distributor_id, preference))
       FROM delivery_preference WHERE distributor_id = ANY($9::bpchar[])) AS preferences`;

/** The facts statement's columns: JSON arrays of tuples (null when empty), instants in epoch ms. */
export interface FactsRow {
  links: [ch: string, esme: string, from: number, to: number | null][] | null;
  devices:
    | [
        guid: string,
        type: DeviceType,
        manufacturer: string | null,
        model: string | null,
        smi: SmiStatus,
        area: string | null,
      ][]
    | null;
  firmware: [device: string, version: string, from: number][] | null;
  rules:
    | [
        id: string,
        version: number,
        deviceType: 'ESME' | 'CHF',
        manufacturer: string,
        model: string,
        affected: string[],
        target: string | null,
        targetHash: string | null,
        windowMinutes: number,
        skewMinutes: number,
        enabled: boolean,
        shadow: boolean,
        executedWindowMinutes: number,
        maxCommsHubOffMinutes: number,
      ][]
    | null;
  verifications:
    | [
        id: string,
        device: string,
        requestedAt: number,
        timeoutAt: number,
        status: VerificationStatus,
        answeredAt: number | null,
        firmwareVersion: string | null,
        answerReceivedAt: number | null,
      ][]
    | null;
  /** Null when not read (no activation in range). */
  hub_alerts:
    [id: string, ch: string, start: number, received: number, outcome: DecisionOutcome | null][] | null;
  activations:
    | [
        id: string,
        requestId: string,
        device: string,
        status: ActivationStatus,
        requestedAt: number,
        executedAt: number | null,
        outcome: ActivationOutcomeCode | null,
        imageHash: string | null,
        target: string | null,
        before: string | null,
        submittedAt: number | null,
        outcomeReceivedAt: number | null,
        immediate: boolean,
      ][]
    | null;
  restores: [id: string, esme: string, code: string, from: number, to: number, received: number][] | null;
  neighbours:
    | [
        id: string,
        ch: string,
        area: string,
        start: number,
        throttled: number,
        inWindow: boolean,
        outcome: DecisionOutcome | null,
      ][]
    | null;
  /** False when the budgets were not read (no activation in range: no candidate needs them). */
  budget_counted: boolean;
  dno_budgets: [key: string, suppressions: number, alerts: number][] | null;
  area_budgets: [key: string, suppressions: number, alerts: number][] | null;
  preferences: [distributorId: string, preference: DeliveryPreference][] | null;
}

const dateOf = (epochMs: number | null): Date | null => (epochMs === null ? null : new Date(epochMs));

/** Every fact about a batch of AD1s, read in one statement (FACTS_STATEMENT). */
export async function readFactsRow(
  tx: EntityManager,
  alerts: readonly AlertEntity[],
  now: Date,
  settings: EngineSettings,
): Promise<FactsRow> {
  const minStart = Math.min(...alerts.map((a) => a.eventAt.getTime()));
  const maxStart = Math.max(...alerts.map((a) => a.eventAt.getTime()));
  const clusterMs = settings.clusterMinutes * MINUTE_MS;
  // A deferred run can come a whole deferral bound after its request, and the outage it waited
  // out can have begun that long before.
  const deferredMs = settings.deferredActivationHours * HOUR_MS;
  const [row] = await preparedQuery<FactsRow>(tx, 'poa_sieve_outage_facts', FACTS_STATEMENT, [
    [...new Set(alerts.map((a) => a.deviceGuid))],
    new Date(minStart - Math.max(ACTIVATION_LOOKBACK_MS, deferredMs + HOUR_MS)),
    new Date(maxStart + FACT_LOOKAHEAD_MS),
    new Date(minStart - Math.max(FACT_LOOKAHEAD_MS, deferredMs + HOUR_MS)),
    new Date(maxStart + FACT_LOOKAHEAD_MS),
    [...new Set(alerts.map((a) => a.areaKey).filter((k): k is string => k !== null))],
    new Date(minStart - clusterMs),
    new Date(maxStart + clusterMs),
    [...new Set(alerts.map((a) => a.distributorId).filter((d): d is string => d !== null))],
    new Date(now.getTime() - settings.budget.windowMinutes * MINUTE_MS),
    alerts.map((a) => a.deviceGuid),
    alerts.map((a) => a.areaKey),
  ]);
  return row;
}

/** An AD1 near a batch alert, as the cluster rule sees it. */
export interface NeighbourFact {
  readonly id: string;
  readonly commsHubGuid: string;
  readonly areaKey: string;
  readonly startAt: Date;
  readonly throttledCount: number;
  readonly inActivationWindow: boolean;
  readonly outcome: DecisionOutcome | null;
}

/** The statement's row as the engine's facts, grouped for lookup by device. */
export interface DecodedFacts {
  readonly linksByCh: Map<string, CommsHubAssociationFact[]>;
  readonly deviceFacts: Map<string, DeviceFact>;
  readonly activationsByDevice: Map<string, FirmwareActivationFact[]>;
  readonly restoresByEsme: Map<string, SupplyRestoredAlertFact[]>;
  readonly neighbours: NeighbourFact[];
  readonly rules: AffectedFirmwareRuleFact[];
  readonly verificationsByDevice: Map<string, VerificationFact[]>;
  readonly preferenceOf: Map<string, DeliveryPreference>;
  readonly hubAlertsByCh: Map<string, CommsHubAlertFact[]>;
}

export function decodeFacts(row: FactsRow): DecodedFacts {
  return {
    ...inventoryFacts(row),
    ...activationAndRestoreFacts(row),
    neighbours: neighbourFacts(row),
    rules: ruleFacts(row),
    verificationsByDevice: verificationFacts(row),
    preferenceOf: new Map(row.preferences ?? []),
    hubAlertsByCh: groupBy(
      (row.hub_alerts ?? []).map(([id, ch, start, received, outcome]) => ({
        id,
        ch,
        startAt: new Date(start),
        receivedAt: new Date(received),
        outcome,
      })),
      (h) => h.ch,
    ),
  };
}

function inventoryFacts(row: FactsRow): Pick<DecodedFacts, 'linksByCh' | 'deviceFacts'> {
  const links = (row.links ?? []).map(([ch, esme, from, to]): CommsHubAssociationFact => ({
    commsHubGuid: ch,
    esmeGuid: esme,
    effectiveFrom: new Date(from),
    effectiveTo: dateOf(to),
  }));
  const firmwareByDevice = groupBy(row.firmware ?? [], ([device]) => device);
  const deviceFacts = new Map<string, DeviceFact>(
    (row.devices ?? []).map(([guid, type, manufacturer, model, smi, area]) => [
      guid,
      {
        guid,
        type,
        manufacturer,
        model,
        firmwareHistory: (firmwareByDevice.get(guid) ?? []).map(([, version, from]) => ({
          version,
          effectiveFrom: new Date(from),
        })),
        smiStatus: smi,
        areaKey: area,
      },
    ]),
  );
  const linksByCh = groupBy(links, (l) => l.commsHubGuid);
  return { linksByCh, deviceFacts };
}

function activationAndRestoreFacts(
  row: FactsRow,
): Pick<DecodedFacts, 'activationsByDevice' | 'restoresByEsme'> {
  const activationFacts = (row.activations ?? []).map(
    ([
      id,
      requestId,
      device,
      status,
      requestedAt,
      executedAt,
      outcome,
      imageHash,
      target,
      before,
      submittedAt,
      outcomeReceivedAt,
      immediate,
    ]) =>
      ({
        id,
        requestId,
        deviceGuid: device,
        status,
        requestedAt: new Date(requestedAt),
        actualExecutedAt: dateOf(executedAt),
        outcomeCode: outcome,
        imageHash,
        targetFirmwareVersion: target,
        firmwareVersionBefore: before,
        submittedAt: dateOf(submittedAt),
        outcomeReceivedAt: dateOf(outcomeReceivedAt),
        immediate,
      }) satisfies FirmwareActivationFact,
  );
  const activationsByDevice = groupBy(activationFacts, (a) => a.deviceGuid);
  const restoresByEsme = groupBy(
    (row.restores ?? []).map(([id, esme, code, from, to, received]): SupplyRestoredAlertFact => ({
      id,
      esmeGuid: esme,
      alertCode: code as SupplyRestoredAlertCode,
      interruptionAt: new Date(from),
      restorationAt: new Date(to),
      receivedAt: new Date(received),
    })),
    (r) => r.esmeGuid,
  );
  return { activationsByDevice, restoresByEsme };
}

function neighbourFacts(row: FactsRow): NeighbourFact[] {
  return (row.neighbours ?? []).map(([id, ch, area, start, throttled, inWindow, outcome]) => ({
    id,
    commsHubGuid: ch,
    areaKey: area,
    startAt: new Date(start),
    throttledCount: throttled,
    inActivationWindow: inWindow,
    outcome,
  }));
}

function ruleFacts(row: FactsRow): AffectedFirmwareRuleFact[] {
  return (row.rules ?? []).map(
    ([
      id,
      version,
      deviceType,
      manufacturer,
      model,
      affected,
      target,
      targetHash,
      windowMinutes,
      skewMinutes,
      enabled,
      shadow,
      executedWindowMinutes,
      maxCommsHubOffMinutes,
    ]): AffectedFirmwareRuleFact => ({
      id,
      version,
      deviceType,
      manufacturer,
      model,
      affectedFirmwareVersions: affected,
      targetFirmwareVersion: target,
      targetImageHash: targetHash,
      windowMinutes,
      skewMinutes,
      executedWindowMinutes,
      maxCommsHubOffMinutes,
      enabled,
      shadow,
    }),
  );
}

function verificationFacts(row: FactsRow): Map<string, VerificationFact[]> {
  return groupBy(
    (row.verifications ?? []).map(
      ([
        id,
        device,
        requestedAt,
        timeoutAt,
        status,
        answeredAt,
        firmwareVersion,
        answerReceivedAt,
      ]): VerificationFact => ({
        id,
        deviceGuid: device,
        requestedAt: new Date(requestedAt),
        timeoutAt: new Date(timeoutAt),
        status,
        answeredAt: dateOf(answeredAt),
        firmwareVersion,
        answerReceivedAt: dateOf(answerReceivedAt),
      }),
    ),
    (v) => v.deviceGuid,
  );
}

export function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}
