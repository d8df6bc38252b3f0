import type { EntityManager } from 'typeorm';
import { preparedQuery } from '../../db/prepared';
import type { AlertRouting } from '../../domain/routing';
import { routeAlert, routeByMpan } from '../../domain/routing';
import type { AlertEntity } from '../../entities';
import type { User } from '../shared/access';
import type { NewAlertDecision } from '../alerts/decision.service';
import type { AlertInput } from './alert-input';

/** An alert row in AlertEntity's shape, for raw statements (RETURNING, SELECT). */
export const ALERT_COLUMNS = `id::text AS "id", kind AS "kind", natural_key AS "naturalKey", duis_response_id AS "duisResponseId",
  alert_code AS "alertCode", device_guid AS "deviceGuid", mpan AS "mpan", mpan_check_digit_valid AS "mpanCheckDigitValid",
  distributor_id AS "distributorId", unrouted_reason AS "unroutedReason", routed_by AS "routedBy", area_key AS "areaKey",
  event_at AS "eventAt",
  restored_at AS "restoredAt", throttled_count AS "throttledCount", throttled_sequence_id AS "throttledSequenceId",
  received_at AS "receivedAt", ingested_by AS "ingestedBy", in_activation_window AS "inActivationWindow",
  outcome AS "outcome", reason AS "reason", revision AS "revision", due_at AS "dueAt",
  paired_alert_id::text AS "pairedAlertId", trace_parent AS "traceParent"`;

/** The batch's alert rows, which AD1s are stored already, and an ID for each AD1. */
export interface Enriched {
  readonly rows: StoredAlertRow[];
  readonly storedKeys: ReadonlySet<string>;
  readonly ids: readonly string[];
}

/** An AD1's natural key: its hub and its outage start (to the millisecond). */
export function ad1NaturalKey(input: Extract<AlertInput, { kind: 'AD1' }>): string {
  return `AD1:${input.commsHubGuid}:${input.startAt.toISOString()}`;
}

/** A new AD1 as it will be stored, before its first decision (revision 0). */
export function unstoredAlert(row: StoredAlertRow, id: string, now: Date): AlertEntity {
  return {
    id,
    kind: row.kind,
    naturalKey: row.naturalKey,
    duisResponseId: row.duisResponseId,
    alertCode: row.alertCode,
    deviceGuid: row.deviceGuid,
    mpan: row.mpan,
    mpanCheckDigitValid: row.mpanValid,
    distributorId: row.distributorId,
    unroutedReason: row.unroutedReason,
    routedBy: row.routedBy,
    areaKey: row.areaKey,
    eventAt: row.eventAt,
    restoredAt: row.restoredAt,
    throttledCount: row.throttledCount,
    throttledSequenceId: row.throttledSequenceId,
    receivedAt: now,
    ingestedBy: row.ingestedBy,
    inActivationWindow: false,
    outcome: null,
    reason: null,
    revision: 0,
    dueAt: null,
    pairedAlertId: null,
    traceParent: row.traceParent,
  };
}

/** An AD1 or restore of the batch, routed, as it will be stored. */
export interface StoredAlertRow {
  kind: 'AD1' | 'SUPPLY_RESTORED';
  naturalKey: string;
  duisResponseId: string | null;
  alertCode: string;
  deviceGuid: string;
  mpan: string | null;
  mpanValid: boolean;
  distributorId: string | null;
  unroutedReason: string | null;
  routedBy: AlertRouting | null;
  areaKey: string | null;
  eventAt: Date;
  restoredAt: Date | null;
  throttledCount: number;
  throttledSequenceId: string | null;
  index: number;
  /** The subject of the token that sent it (batches from several senders share a transaction). */
  ingestedBy: string;
  /** W3C traceparent of the request that sent it (null: tracing off). */
  traceParent: string | null;
}

/** An AD1 or restore of a batch, with its position, its sender and the trace it came in. */
type BatchAlert = {
  input: Extract<AlertInput, { kind: 'AD1' | 'SUPPLY_RESTORED' }>;
  index: number;
  by: string;
  traceParent: string | null;
};

/** What the routing lookup found: the current operators, and per device its MPAN and area. */
interface RoutingFacts {
  readonly operators: ReadonlySet<string>;
  /** A CH without an area key borrows its ESME's: the engine correlates outages by area. */
  readonly areaOf: ReadonlyMap<string, string | null>;
  /** The inventory's MPAN of each device (a restore without an MPxN is routed by its ESME's). */
  readonly mpanOf: ReadonlyMap<string, string | null>;
  readonly storedKeys: ReadonlySet<string>;
  readonly ids: readonly string[];
}

/** Routing (MPAN to network operator) and area keys, for every AD1 and restore of the batch. */
export async function enrichAlerts(
  tx: EntityManager,
  entries: readonly {
    readonly input: AlertInput;
    readonly user: User;
    readonly traceParent?: string | null;
  }[],
): Promise<Enriched> {
  const alerts = entries
    .map(({ input, user, traceParent }, index) => ({
      input,
      index,
      by: user.subject,
      traceParent: traceParent ?? null,
    }))
    .filter((x): x is BatchAlert => x.input.kind === 'AD1' || x.input.kind === 'SUPPLY_RESTORED');
  if (alerts.length === 0) return { rows: [], storedKeys: new Set(), ids: [] };
  const facts = await routingFacts(tx, alerts);
  const mpanOfAlert = (input: BatchAlert['input']) =>
    (input.kind === 'AD1' ? input.mpan : (input.mpan ?? facts.mpanOf.get(input.esmeGuid) ?? null)) || null;
  const linkedMpan = await linkedMpans(
    tx,
    alerts.filter(
      ({ input }) =>
        input.kind === 'AD1' && routeByMpan(mpanOfAlert(input), facts.operators).distributorId === null,
    ),
  );
  const rows = alerts.map(({ input, index, by, traceParent }): StoredAlertRow => {
    // A restore names its ESME: the inventory's MPAN of that ESME is the fallback.
    const fallback =
      input.kind === 'AD1'
        ? { mpan: linkedMpan.get(index) ?? null, via: 'COMMS_HUB_LINK' as const }
        : { mpan: facts.mpanOf.get(input.esmeGuid) ?? null, via: 'ESME_INVENTORY' as const };
    const mpan = mpanOfAlert(input);
    const route = routeAlert(mpan, fallback, facts.operators);
    return { ...rowOf(input, index, by, mpan, route, facts.areaOf), traceParent };
  });
  return { rows, storedKeys: facts.storedKeys, ids: facts.ids };
}

/**
 * The current operators and the batch's devices in one statement (one round trip). The ESME's
 * area by a scalar subquery (a CH has at most one open link: comms_hub_link_open_ch_uq): index
 * lookups per device of the batch. As LEFT JOINs the planner could hash every open link with its
 * ESME, the whole inventory, for each batch (it did, on statistics not yet analysed). Also: which
 * of the batch's AD1s are stored already (a retried batch), and an ID for each AD1 (new ones are
 * decided before they are written: DecisionService.decideNewOutageAlerts).
 */
async function routingFacts(tx: EntityManager, alerts: readonly BatchAlert[]): Promise<RoutingFacts> {
  const ad1Keys = alerts.flatMap(({ input }) => (input.kind === 'AD1' ? [ad1NaturalKey(input)] : []));
  const guids = [
    ...new Set(alerts.map(({ input }) => (input.kind === 'AD1' ? input.commsHubGuid : input.esmeGuid))),
  ];
  const [found] = (await preparedQuery(
    tx,
    'poa_sieve_ingest_enrich',
    `SELECT (SELECT json_agg(distributor_id) FROM network_operator WHERE effective_to IS NULL) AS operators,
            (SELECT json_agg(json_build_array(d.guid, d.mpan, d.area_key,
                      (SELECT e.area_key FROM comms_hub_link l JOIN device e ON e.guid = l.esme_guid
                        WHERE l.comms_hub_guid = d.guid AND l.effective_to IS NULL)))
               FROM device d WHERE d.guid = ANY($1::bpchar[])) AS devices,
            (SELECT json_agg(natural_key) FROM alert WHERE natural_key = ANY($2::text[])) AS stored,
            ARRAY(SELECT nextval(pg_get_serial_sequence('alert', 'id'))::text
                    FROM generate_series(1, $3::int)) AS ids`,
    [guids, ad1Keys, ad1Keys.length],
  )) as {
    operators: string[] | null;
    devices: [guid: string, mpan: string | null, areaKey: string | null, esmeAreaKey: string | null][] | null;
    stored: string[] | null;
    ids: string[];
  }[];
  const devices = found.devices ?? [];
  return {
    operators: new Set(found.operators ?? []),
    areaOf: new Map(devices.map(([guid, , areaKey, esmeAreaKey]) => [guid, areaKey ?? esmeAreaKey])),
    mpanOf: new Map(devices.map(([guid, mpan]) => [guid, mpan])),
    storedKeys: new Set(found.stored ?? []),
    ids: found.ids,
  };
}

/**
 * AD1s whose own MPAN cannot route them (rare) are routed by the ESME that powered the hub at the
 * outage start: one statement for those only, so the common path costs nothing more. By the
 * alert's position in the batch.
 */
async function linkedMpans(tx: EntityManager, stray: readonly BatchAlert[]): Promise<Map<number, string>> {
  const linkedMpan = new Map<number, string>();
  if (stray.length === 0) return linkedMpan;
  const ad1s = stray.map(({ input }) => input as Extract<AlertInput, { kind: 'AD1' }>);
  const rows = (await tx.query(
    `SELECT t.i, min(e.mpan) AS mpan, count(DISTINCT e.guid)::int AS esmes
       FROM unnest($1::bpchar[], $2::timestamptz[], $3::int[]) AS t(ch, at, i)
       JOIN comms_hub_link l ON l.comms_hub_guid = t.ch AND l.effective_from <= t.at
                            AND (l.effective_to IS NULL OR t.at < l.effective_to)
       JOIN device e ON e.guid = l.esme_guid
      GROUP BY t.i`,
    [ad1s.map((a) => a.commsHubGuid), ad1s.map((a) => a.startAt), stray.map(({ index }) => index)],
  )) as { i: number; mpan: string | null; esmes: number }[];
  // Two ESMEs on one hub at the same instant is a data error: route by neither.
  for (const r of rows) if (r.esmes === 1 && r.mpan) linkedMpan.set(r.i, r.mpan);
  return linkedMpan;
}

/** The row an AD1 or restore is stored as, routed. */
function rowOf(
  input: BatchAlert['input'],
  index: number,
  by: string,
  /** The MPAN it is stored with: its own, or (a restore without one) its ESME's in the inventory. */
  mpan: string | null,
  route: ReturnType<typeof routeAlert>,
  areaOf: ReadonlyMap<string, string | null>,
): Omit<StoredAlertRow, 'traceParent'> {
  if (input.kind === 'AD1') {
    return {
      kind: 'AD1',
      naturalKey: ad1NaturalKey(input),
      duisResponseId: input.duisResponseId ?? null,
      alertCode: 'AD1',
      deviceGuid: input.commsHubGuid,
      mpan: input.mpan,
      ...route,
      areaKey: areaOf.get(input.commsHubGuid) ?? null,
      eventAt: input.startAt,
      restoredAt: null,
      throttledCount: input.throttledCount ?? 1,
      throttledSequenceId: input.throttledSequenceId ?? null,
      index,
      ingestedBy: by,
    };
  }
  return {
    kind: 'SUPPLY_RESTORED',
    naturalKey: `${input.alertCode}:${input.esmeGuid}:${input.interruptionAt.toISOString()}:${input.restorationAt.toISOString()}`,
    duisResponseId: input.duisResponseId ?? null,
    alertCode: input.alertCode,
    deviceGuid: input.esmeGuid,
    mpan,
    ...route,
    areaKey: areaOf.get(input.esmeGuid) ?? null,
    eventAt: input.interruptionAt,
    restoredAt: input.restorationAt,
    throttledCount: 1,
    throttledSequenceId: null,
    index,
    ingestedBy: by,
  };
}

/** One multi-row INSERT; returns the rows that were new, as stored. */
export async function insertAlerts(
  tx: EntityManager,
  rows: readonly StoredAlertRow[],
  now: Date,
): Promise<AlertEntity[]> {
  const fresh = rows;
  if (fresh.length === 0) return [];
  // One JSON document for the rows (see DecisionService.append): no array literal per column.
  return (await preparedQuery(
    tx,
    'poa_sieve_ingest_insert',
    `INSERT INTO alert (kind, natural_key, duis_response_id, alert_code, device_guid, mpan, mpan_check_digit_valid,
                        distributor_id, unrouted_reason, area_key, event_at, restored_at, throttled_count,
                        throttled_sequence_id, received_at, ingested_by, routed_by, trace_parent)
     SELECT k, nk, d, c, g, m, mv, di, ur, ak, ev, re, tc, ts, $2, ib, rb, tp
       FROM json_to_recordset($1::json)
         AS i(k text, nk text, d text, c text, g text, m text, mv boolean, di text, ur text, ak text,
              ev timestamptz, re timestamptz, tc int, ts text, rb text, ib text, tp text)
     ON CONFLICT DO NOTHING
     RETURNING ${ALERT_COLUMNS}`,
    [
      JSON.stringify(
        fresh.map((r) => ({
          k: r.kind,
          nk: r.naturalKey,
          d: r.duisResponseId,
          c: r.alertCode,
          g: r.deviceGuid,
          m: r.mpan,
          mv: r.mpanValid,
          di: r.distributorId,
          ur: r.unroutedReason,
          ak: r.areaKey,
          ev: r.eventAt,
          re: r.restoredAt,
          tc: r.throttledCount,
          ts: r.throttledSequenceId,
          rb: r.routedBy,
          ib: r.ingestedBy,
          tp: r.traceParent,
        })),
      ),
      now,
    ],
  )) as AlertEntity[];
}

/**
 * Writes new AD1s already decided (DecisionService.decideNewOutageAlerts): each alert row in
 * the state of its first decision, with its ledger entry, in one statement. Returns the IDs
 * written: an alert that a concurrent batch stored first (same natural key) is left out, and
 * so is its ledger entry.
 */
export async function storeDecidedAlerts(
  tx: EntityManager,
  entries: readonly NewAlertDecision[],
  now: Date,
): Promise<ReadonlySet<string>> {
  if (entries.length === 0) return new Set();
  // Prepared, as every statement of the ingest transaction: planning a statement over the
  // partitioned tables cost more than running it for one alert (server-side CPU per single
  // alert: 6 ms, most of it planning).
  const rows = (await preparedQuery(
    tx,
    'poa_sieve_ingest_store_decided',
    `WITH d AS MATERIALIZED (
       SELECT * FROM json_to_recordset($1::json) AS d(
         id bigint, k text, nk text, di2 text, c text, g text, m text, mv boolean, di text, ur text, ak text,
         ev timestamptz, tc int, ts text, rb text, revision int, outcome text, reason text, late boolean,
         rule_id uuid, rule_version int, activation_id uuid, window_from timestamptz, window_to timestamptz,
         due_at timestamptz, trigger text, in_window boolean, n int, ib text, tp text)
     ), stored AS (
       INSERT INTO alert (id, kind, natural_key, duis_response_id, alert_code, device_guid, mpan,
                          mpan_check_digit_valid, distributor_id, unrouted_reason, area_key, event_at,
                          throttled_count, throttled_sequence_id, received_at, ingested_by, routed_by,
                          outcome, reason, revision, due_at, in_activation_window, trace_parent)
       OVERRIDING SYSTEM VALUE
       SELECT id, k, nk, di2, c, g, m, mv, di, ur, ak, ev, tc, ts, $3, ib, rb,
              outcome, reason, revision, due_at, in_window, tp
         FROM d ORDER BY id
       ON CONFLICT DO NOTHING
       RETURNING id
     ), ledger AS (
       INSERT INTO alert_decision (alert_id, revision, outcome, reason, late, rule_id, rule_version, activation_id,
                                   window_from, window_to, due_at, decided_at, trigger, decision, alert_event_at)
       SELECT d.id, d.revision, d.outcome, d.reason, d.late, d.rule_id, d.rule_version, d.activation_id,
              d.window_from, d.window_to, d.due_at, $3, d.trigger, $2::jsonb -> d.n, d.ev
         FROM d JOIN stored USING (id)
     )
     SELECT id::text AS id FROM stored`,
    [
      JSON.stringify(
        entries.map(({ alert: a, ledger: l }, n) => ({
          id: a.id,
          k: a.kind,
          nk: a.naturalKey,
          di2: a.duisResponseId,
          c: a.alertCode,
          g: a.deviceGuid,
          m: a.mpan,
          mv: a.mpanCheckDigitValid,
          di: a.distributorId,
          ur: a.unroutedReason,
          ak: a.areaKey,
          ev: a.eventAt,
          tc: a.throttledCount,
          ts: a.throttledSequenceId,
          rb: a.routedBy,
          revision: l.revision,
          outcome: l.outcome,
          reason: l.reason,
          late: l.late,
          rule_id: l.ruleId,
          rule_version: l.ruleVersion,
          activation_id: l.activationId,
          window_from: l.windowFrom,
          window_to: l.windowTo,
          due_at: l.dueAt,
          trigger: l.trigger,
          in_window: l.inActivationWindow,
          n,
          ib: a.ingestedBy,
          tp: a.traceParent ?? null,
        })),
      ),
      // The decisions apart, as one JSON array (see DecisionService.append).
      JSON.stringify(entries.map((e) => e.ledger.decision)),
      now,
    ],
  )) as { id: string }[];
  return new Set(rows.map((r) => r.id));
}

/**
 * A DUIS response ID names one alert. The alert table is partitioned by event time, so its
 * unique index can only say so per event time; the rest is checked here: rows whose response
 * ID is already stored, or came earlier in the batch, are duplicates. A lock per ID, held to
 * commit and taken in order, makes concurrent batches carrying one ID take turns.
 */
export async function withoutKnownDuisResponses(
  tx: EntityManager,
  rows: readonly StoredAlertRow[],
): Promise<readonly StoredAlertRow[]> {
  const ids = [...new Set(rows.map((r) => r.duisResponseId).filter((d): d is string => !!d))].sort();
  if (ids.length === 0) return rows;
  await tx.query(
    `SELECT pg_advisory_xact_lock(hashtextextended('poa_sieve.duis:' || id, 0))
       FROM (SELECT id FROM unnest($1::text[]) AS id ORDER BY id) AS ordered`,
    [ids],
  );
  const known = (await tx.query(
    'SELECT DISTINCT duis_response_id AS id FROM alert WHERE duis_response_id = ANY($1::text[])',
    [ids],
  )) as { id: string }[];
  const seen = new Map<string, string>(known.map((k) => [k.id, '']));
  return rows.filter((r) => {
    if (!r.duisResponseId) return true;
    const first = seen.get(r.duisResponseId);
    if (first === undefined) {
      seen.set(r.duisResponseId, r.naturalKey);
      return true;
    }
    // The same alert twice in one batch (same natural key) is left to ON CONFLICT.
    return first === r.naturalKey;
  });
}
