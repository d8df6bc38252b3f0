import type { EntityManager } from 'typeorm';
import type {
  AffectedFirmwareRuleFact,
  AlertDecision,
  CommsHubAssociationFact,
  DeviceFact,
  EngineSettings,
  FirmwareActivationFact,
  PowerOutageAlertFact,
  PowerOutageAlertFacts,
  SafetyBudgetCounters,
  SupplyRestoredAlertCode,
  SupplyRestoredAlertFact,
} from '../domain/engine';
import type {
  ActivationOutcomeCode,
  ActivationStatus,
  DeliveryPreference,
  DeviceType,
  SmiStatus,
} from '../domain/model';
import type { AlertEntity } from '../entities';

const DAY_MS = 24 * 3600_000;
const MINUTE_MS = 60_000;

/** How far around an outage start activations and restores are looked for (generous: windows re-anchor). */
const ACTIVATION_LOOKBACK_MS = 2 * DAY_MS;
const FACT_LOOKAHEAD_MS = DAY_MS;

export interface OutageFactsBundle {
  readonly rules: readonly AffectedFirmwareRuleFact[];
  /** The engine's facts for one AD1 of the batch. */
  factsFor(
    alert: AlertEntity,
    previousDecision: AlertDecision | null,
    inActivationWindow: ReadonlyMap<string, boolean>,
  ): PowerOutageAlertFacts;
  /** Counts one more suppression (made earlier in this batch) for the alert's DNO and area. */
  countSuppression(alert: AlertEntity, delta: 1 | -1): void;
}

export function toOutageAlertFact(a: AlertEntity): PowerOutageAlertFact {
  return {
    id: a.id,
    commsHubGuid: a.deviceGuid,
    startAt: a.eventAt,
    receivedAt: a.receivedAt,
    mpan: a.mpan ?? '',
    distributorId: a.distributorId,
    throttledCount: a.throttledCount,
    duisResponseId: a.duisResponseId,
  };
}

/** The engine's view of a stored supply-restored alert. */
export function restoreFactOf(a: AlertEntity): SupplyRestoredAlertFact {
  return {
    id: a.id,
    esmeGuid: a.deviceGuid,
    alertCode: a.alertCode as SupplyRestoredAlertCode,
    interruptionAt: a.eventAt,
    restorationAt: a.restoredAt ?? a.eventAt,
    receivedAt: a.receivedAt,
  };
}

export function toRestoreFact(r: {
  id: string;
  device_guid: string;
  alert_code: string;
  event_at: Date;
  restored_at: Date;
  received_at: Date;
}): SupplyRestoredAlertFact {
  return {
    id: r.id,
    esmeGuid: r.device_guid,
    alertCode: r.alert_code as SupplyRestoredAlertCode,
    interruptionAt: r.event_at,
    restorationAt: r.restored_at,
    receivedAt: r.received_at,
  };
}

/**
 * Loads, in a fixed number of set-based queries, every fact the engine needs to decide a batch
 * of AD1s: associations, devices with firmware history, rules, activations, restores, area
 * neighbours, safety-budget counters and delivery preferences.
 */
export async function loadOutageFacts(
  tx: EntityManager,
  alerts: readonly AlertEntity[],
  now: Date,
  settings: EngineSettings,
): Promise<OutageFactsBundle> {
  const chs = [...new Set(alerts.map((a) => a.deviceGuid))];
  const minStart = Math.min(...alerts.map((a) => a.eventAt.getTime()));
  const maxStart = Math.max(...alerts.map((a) => a.eventAt.getTime()));

  const links = (await tx.query(
    `SELECT comms_hub_guid, esme_guid, effective_from, effective_to FROM comms_hub_link WHERE comms_hub_guid = ANY($1)`,
    [chs],
  )) as { comms_hub_guid: string; esme_guid: string; effective_from: Date; effective_to: Date | null }[];
  const esmes = [...new Set(links.map((l) => l.esme_guid))];
  const deviceGuids = [...new Set([...chs, ...esmes])];

  // One transaction means one connection: the queries run one after another.
  const devices = (await tx.query(
    `SELECT guid, device_type, manufacturer, model, smi_status, area_key FROM device WHERE guid = ANY($1)`,
    [deviceGuids],
  )) as {
    guid: string;
    device_type: DeviceType;
    manufacturer: string | null;
    model: string | null;
    smi_status: SmiStatus;
    area_key: string | null;
  }[];
  const firmware = (await tx.query(
    `SELECT device_guid, firmware_version, effective_from FROM device_firmware WHERE device_guid = ANY($1)`,
    [deviceGuids],
  )) as { device_guid: string; firmware_version: string; effective_from: Date }[];
  const rules = (await tx.query(
    `SELECT id, version, device_type, manufacturer, model, affected_firmware_versions, target_firmware_version,
              target_image_hash, window_minutes, skew_minutes, enabled, shadow
         FROM affected_firmware_rule ORDER BY id`,
  )) as {
    id: string;
    version: number;
    device_type: 'ESME' | 'CHF';
    manufacturer: string;
    model: string;
    affected_firmware_versions: string[];
    target_firmware_version: string | null;
    target_image_hash: string | null;
    window_minutes: number;
    skew_minutes: number;
    enabled: boolean;
    shadow: boolean;
  }[];
  const activations = (await tx.query(
    `SELECT id, request_id, device_guid, status, requested_at, actual_executed_at, outcome_code, image_hash,
              target_firmware_version, firmware_version_before
         FROM firmware_activation
        WHERE device_guid = ANY($1) AND requested_at BETWEEN $2 AND $3`,
    [deviceGuids, new Date(minStart - ACTIVATION_LOOKBACK_MS), new Date(maxStart + FACT_LOOKAHEAD_MS)],
  )) as {
    id: string;
    request_id: string;
    device_guid: string;
    status: ActivationStatus;
    requested_at: Date;
    actual_executed_at: Date | null;
    outcome_code: ActivationOutcomeCode | null;
    image_hash: string | null;
    target_firmware_version: string | null;
    firmware_version_before: string | null;
  }[];
  const restores = (await tx.query(
    `SELECT id::text AS id, device_guid, alert_code, event_at, restored_at, received_at FROM alert
        WHERE kind = 'SUPPLY_RESTORED' AND device_guid = ANY($1) AND event_at BETWEEN $2 AND $3`,
    [esmes, new Date(minStart - FACT_LOOKAHEAD_MS), new Date(maxStart + FACT_LOOKAHEAD_MS)],
  )) as {
    id: string;
    device_guid: string;
    alert_code: string;
    event_at: Date;
    restored_at: Date;
    received_at: Date;
  }[];

  const areaKeys = [...new Set(alerts.map((a) => a.areaKey).filter((k): k is string => k !== null))];
  const distributorIds = [
    ...new Set(alerts.map((a) => a.distributorId).filter((d): d is string => d !== null)),
  ];
  const budgetSince = new Date(now.getTime() - settings.budget.windowMinutes * MINUTE_MS);
  const clusterMs = settings.clusterMinutes * MINUTE_MS;
  const neighbours = (await tx.query(
    `SELECT id::text AS id, device_guid, area_key, event_at, throttled_count, in_activation_window FROM alert
        WHERE kind = 'AD1' AND area_key = ANY($1) AND event_at BETWEEN $2 AND $3`,
    [areaKeys, new Date(minStart - clusterMs), new Date(maxStart + clusterMs)],
  )) as {
    id: string;
    device_guid: string;
    area_key: string;
    event_at: Date;
    throttled_count: number;
    in_activation_window: boolean;
  }[];
  const dnoCounts = await budgetCounts(tx, 'distributor_id', distributorIds, budgetSince);
  const areaCounts = await budgetCounts(tx, 'area_key', areaKeys, budgetSince);
  const preferences = (await tx.query(
    `SELECT distributor_id, preference FROM delivery_preference WHERE distributor_id = ANY($1)`,
    [distributorIds],
  )) as { distributor_id: string; preference: DeliveryPreference }[];

  const firmwareByDevice = groupBy(firmware, (f) => f.device_guid);
  const deviceFacts = new Map<string, DeviceFact>(
    devices.map((d) => [
      d.guid,
      {
        guid: d.guid,
        type: d.device_type,
        manufacturer: d.manufacturer,
        model: d.model,
        firmwareHistory: (firmwareByDevice.get(d.guid) ?? []).map((f) => ({
          version: f.firmware_version,
          effectiveFrom: f.effective_from,
        })),
        smiStatus: d.smi_status,
        areaKey: d.area_key,
      },
    ]),
  );
  const linksByCh = groupBy(links, (l) => l.comms_hub_guid);
  const activationFacts: FirmwareActivationFact[] = activations.map((a) => ({
    id: a.id,
    requestId: a.request_id,
    deviceGuid: a.device_guid,
    status: a.status,
    requestedAt: a.requested_at,
    actualExecutedAt: a.actual_executed_at,
    outcomeCode: a.outcome_code,
    imageHash: a.image_hash,
    targetFirmwareVersion: a.target_firmware_version,
    firmwareVersionBefore: a.firmware_version_before,
  }));
  const activationsByDevice = groupBy(activationFacts, (a) => a.deviceGuid);
  const restoresByEsme = groupBy(restores.map(toRestoreFact), (r) => r.esmeGuid);
  const neighboursByArea = groupBy(neighbours, (n) => n.area_key);
  const preferenceOf = new Map(preferences.map((p) => [p.distributor_id, p.preference]));
  const ruleFacts: AffectedFirmwareRuleFact[] = rules.map((r) => ({
    id: r.id,
    version: r.version,
    deviceType: r.device_type,
    manufacturer: r.manufacturer,
    model: r.model,
    affectedFirmwareVersions: r.affected_firmware_versions,
    targetFirmwareVersion: r.target_firmware_version,
    targetImageHash: r.target_image_hash,
    windowMinutes: r.window_minutes,
    skewMinutes: r.skew_minutes,
    enabled: r.enabled,
    shadow: r.shadow,
  }));

  return {
    rules: ruleFacts,
    countSuppression(alert, delta) {
      bump(dnoCounts, alert.distributorId, delta);
      bump(areaCounts, alert.areaKey, delta);
    },
    factsFor(alert, previousDecision, inActivationWindow) {
      const associations: CommsHubAssociationFact[] = (linksByCh.get(alert.deviceGuid) ?? []).map((l) => ({
        commsHubGuid: l.comms_hub_guid,
        esmeGuid: l.esme_guid,
        effectiveFrom: l.effective_from,
        effectiveTo: l.effective_to,
      }));
      const related = [alert.deviceGuid, ...associations.map((a) => a.esmeGuid)];
      const start = alert.eventAt.getTime();
      // Budget: `suppressions` excludes this alert, `alerts` includes it (see docs/ENGINE.md).
      const selfWithheld = alert.outcome === 'SUPPRESSED' || alert.outcome === 'PAIRED' ? 1 : 0;
      // The stored counts already include this alert when it was received inside the window.
      const selfUncounted = alert.receivedAt.getTime() > budgetSince.getTime() ? 0 : 1;
      const counters = (c: SafetyBudgetCounters | undefined): SafetyBudgetCounters => ({
        suppressions: Math.max(0, (c?.suppressions ?? 0) - selfWithheld),
        alerts: (c?.alerts ?? 0) + selfUncounted,
      });
      return {
        alert: toOutageAlertFact(alert),
        devices: [...new Set(related)]
          .map((g) => deviceFacts.get(g))
          .filter((d): d is DeviceFact => d !== undefined),
        associations,
        rules: ruleFacts,
        activations: related.flatMap((g) => activationsByDevice.get(g) ?? []),
        supplyRestoredAlerts: associations.flatMap((a) => restoresByEsme.get(a.esmeGuid) ?? []),
        area:
          alert.areaKey === null
            ? null
            : {
                key: alert.areaKey,
                neighbourAlerts: (neighboursByArea.get(alert.areaKey) ?? [])
                  .filter((n) => n.id !== alert.id && Math.abs(n.event_at.getTime() - start) <= clusterMs)
                  .map((n) => ({
                    alertId: n.id,
                    commsHubGuid: n.device_guid,
                    startAt: n.event_at,
                    throttledCount: n.throttled_count,
                    inActivationWindow: inActivationWindow.get(n.id) ?? n.in_activation_window,
                  })),
                budget: counters(areaCounts.get(alert.areaKey)),
              },
        dnoBudget: counters(alert.distributorId ? dnoCounts.get(alert.distributorId) : undefined),
        deliveryPreference: (alert.distributorId && preferenceOf.get(alert.distributorId)) || 'FILTER',
        previousDecision,
      };
    },
  };
}

async function budgetCounts(
  tx: EntityManager,
  column: 'distributor_id' | 'area_key',
  keys: readonly string[],
  since: Date,
): Promise<Map<string, { suppressions: number; alerts: number }>> {
  if (keys.length === 0) return new Map();
  const rows = (await tx.query(
    `SELECT ${column} AS key,
            count(*) FILTER (WHERE outcome IN ('SUPPRESSED', 'PAIRED'))::int AS suppressions,
            count(*)::int AS alerts
       FROM alert WHERE kind = 'AD1' AND ${column} = ANY($1) AND received_at > $2 GROUP BY 1`,
    [keys, since],
  )) as { key: string; suppressions: number; alerts: number }[];
  return new Map(rows.map((r) => [r.key, { suppressions: r.suppressions, alerts: r.alerts }]));
}

function bump(
  map: Map<string, { suppressions: number; alerts: number }>,
  key: string | null,
  delta: 1 | -1,
): void {
  if (key === null) return;
  const c = map.get(key) ?? { suppressions: 0, alerts: 0 };
  map.set(key, { ...c, suppressions: Math.max(0, c.suppressions + delta) });
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}
