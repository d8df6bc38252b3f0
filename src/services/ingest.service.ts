import type { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import { pairSupplyRestoredAlert, SUPPLY_RESTORED_ALERT_CODES } from '../domain/engine';
import type { AlertDecision, EngineSettings } from '../domain/engine';
import { InvalidInputError } from '../domain/errors';
import { parseEui64, parseFirmwareVersion, parseRequestId } from '../domain/identifiers';
import { ACTIVATION_OUTCOME_CODES } from '../domain/model';
import { routeAlert, routeByMpan } from '../domain/routing';
import type { AlertRouting } from '../domain/routing';
import type { ActivationOutcomeCode, DecisionOutcome } from '../domain/model';
import { preparedQuery } from '../db/prepared';
import { AlertEntity } from '../entities';
import { requireRole } from './access';
import type { User } from './access';
import type { ActivationService } from './activation.service';
import { decodeAlertDecision } from './decision-codec';
import type { DecisionChange, DecisionService, NewAlertDecision } from './decision.service';
import type { DeliveryService } from './delivery.service';
import { BatchCoalescer } from './batch-coalescer';
import { countBy, silentObserver } from './observer';
import type { ServiceObserver } from './observer';
import { restoreFactOf, toOutageAlertFact } from './outage-facts';

/** One alert of an ingestAlerts batch, after GraphQL has picked its kind. */
export type AlertInput =
  | {
      readonly kind: 'AD1';
      readonly commsHubGuid: string;
      readonly startAt: Date;
      readonly mpan: string;
      readonly duisResponseId?: string | null;
      readonly throttledCount?: number | null;
      readonly throttledSequenceId?: string | null;
    }
  | {
      readonly kind: 'SUPPLY_RESTORED';
      readonly esmeGuid: string;
      readonly alertCode: string;
      readonly interruptionAt: Date;
      readonly restorationAt: Date;
      readonly mpan?: string | null;
      readonly duisResponseId?: string | null;
    }
  | {
      readonly kind: 'ACTIVATION_OUTCOME';
      readonly esmeGuid: string;
      /** 8F66 (actioned) or 8F67 (not actioned); IMMEDIATE for an SR11.3 response. */
      readonly alertCode: string;
      readonly requestId: string;
      readonly outcomeCode: string;
      readonly executedAt: Date;
      readonly firmwareVersion?: string | null;
    }
  | {
      readonly kind: 'CH_FIRMWARE_ACTIVATION';
      readonly commsHubGuid: string;
      readonly firmwareVersion: string;
      readonly activatedAt: Date;
    };

/** What happened to one alert of the batch; a retried batch gets the same alert IDs back. */
export interface IngestResult {
  readonly index: number;
  readonly kind: AlertInput['kind'];
  /** The stored alert (AD1 and supply-restored alerts). */
  readonly alertId: string | null;
  /** The activation it updated or created (outcomes and CH activations). */
  readonly activationId: string | null;
  /** True when this alert had been ingested before (nothing new was stored). */
  readonly duplicate: boolean;
  readonly outcome: DecisionOutcome | null;
  readonly reason: string | null;
  readonly dueAt: Date | null;
  /** AD1s and restores: the network operator it went to; `null`: the UNROUTED queue. */
  readonly distributorId?: string | null;
  /** How it was routed (MPAN, or a fallback: COMMS_HUB_LINK, MPAN_PREFIX); `null` when unrouted. */
  readonly routedBy?: AlertRouting | null;
  /** Why it is unrouted (NO_MPAN, MALFORMED_MPAN, BAD_CHECK_DIGIT, UNKNOWN_DISTRIBUTOR). */
  readonly unroutedReason?: string | null;
}

export interface IngestSettings {
  readonly maxBatchSize: number;
  /** Ingest transactions at once; batches arriving meanwhile share the next (BatchCoalescer). */
  readonly transactions: number;
}

/** One ingestAlerts call, validated: who sent it and its alerts. */
interface IngestRequest {
  readonly user: User;
  readonly inputs: readonly AlertInput[];
}

/** An alert row in AlertEntity's shape, for raw statements (RETURNING, SELECT). */
const ALERT_COLUMNS = `id::text AS "id", kind AS "kind", natural_key AS "naturalKey", duis_response_id AS "duisResponseId",
  alert_code AS "alertCode", device_guid AS "deviceGuid", mpan AS "mpan", mpan_check_digit_valid AS "mpanCheckDigitValid",
  distributor_id AS "distributorId", unrouted_reason AS "unroutedReason", routed_by AS "routedBy", area_key AS "areaKey",
  event_at AS "eventAt",
  restored_at AS "restoredAt", throttled_count AS "throttledCount", throttled_sequence_id AS "throttledSequenceId",
  received_at AS "receivedAt", ingested_by AS "ingestedBy", in_activation_window AS "inActivationWindow",
  outcome AS "outcome", reason AS "reason", revision AS "revision", due_at AS "dueAt",
  paired_alert_id::text AS "pairedAlertId"`;

/** The batch's alert rows, which AD1s are stored already, and an ID for each AD1. */
interface Enriched {
  readonly rows: StoredAlertRow[];
  readonly storedKeys: ReadonlySet<string>;
  readonly ids: readonly string[];
}

/** An AD1's natural key: its hub and its outage start (to the millisecond). */
function ad1NaturalKey(input: Extract<AlertInput, { kind: 'AD1' }>): string {
  return `AD1:${input.commsHubGuid}:${input.startAt.toISOString()}`;
}

/** A new AD1 as it will be stored, before its first decision (revision 0). */
function unstoredAlert(row: StoredAlertRow, id: string, now: Date): AlertEntity {
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
  };
}

/** DUIS response IDs are `EUI64:EUI64:counter` (up to 68 characters); 128 leaves room. */
const MAX_TEXT = 128;
const DAY_MS = 24 * 3600_000;

interface StoredAlertRow {
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
}

/**
 * ingestAlerts: one transaction per batch. Alerts are validated first (one bad alert rejects the
 * batch and nothing is written), stored once each (natural key, and DUIS response ID when
 * present), routed to the MPAN's network operator or the UNROUTED queue, and decided.
 * Activation outcomes in the batch are applied first, so the AD1s beside them see them.
 */
export class IngestService {
  private readonly coalescer: BatchCoalescer<IngestRequest, IngestResult[]>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly decisions: DecisionService,
    private readonly activations: ActivationService,
    private readonly delivery: DeliveryService,
    private readonly engineSettings: EngineSettings,
    private readonly settings: IngestSettings,
    private readonly observer: ServiceObserver = silentObserver,
  ) {
    this.coalescer = new BatchCoalescer((requests) => this.ingestTogether(requests), {
      concurrency: settings.transactions,
      maxItems: settings.maxBatchSize,
    });
  }

  async ingestAlerts(principal: Principal, inputs: readonly AlertInput[]): Promise<IngestResult[]> {
    let results: IngestResult[];
    try {
      results = await this.ingestBatch(principal, inputs);
    } catch (error) {
      this.observer.ingestFailed(error);
      throw error;
    }
    for (const { item, count } of countBy(results, (r) => `${r.kind}/${r.duplicate}`))
      this.observer.ingested(item.kind, item.duplicate ? 'duplicate' : 'stored', count);
    return results;
  }

  private async ingestBatch(principal: Principal, inputs: readonly AlertInput[]): Promise<IngestResult[]> {
    const user = requireRole(principal, 'OPERATOR');
    if (inputs.length === 0) throw new InvalidInputError('EMPTY_BATCH', 'alerts must not be empty', 'alerts');
    if (inputs.length > this.settings.maxBatchSize) {
      throw new InvalidInputError(
        'BATCH_TOO_LARGE',
        `at most ${this.settings.maxBatchSize} alerts per call`,
        'alerts',
        {
          limit: this.settings.maxBatchSize,
        },
      );
    }
    const valid = inputs.map((input, i) => validateAlert(input, `alerts[${i}]`));
    return this.coalescer.submit({ user, inputs: valid }, valid.length);
  }

  /**
   * Several batches in one transaction (BatchCoalescer): stored, decided and enqueued together,
   * each batch's results with its own indexes.
   */
  private async ingestTogether(requests: readonly IngestRequest[]): Promise<IngestResult[][]> {
    const now = this.clock.now();
    const entries = requests.flatMap(({ user, inputs }) => inputs.map((input) => ({ input, user })));
    const { results, enqueued } = await this.dataSource.transaction(async (tx) => {
      const { results, changes } = await this.ingestIn(tx, entries, now);
      // Last step before commit: the DNO messages and their sequence numbers.
      return { results, enqueued: await this.delivery.enqueue(tx, changes) };
    });
    this.delivery.published(enqueued);
    let offset = 0;
    return requests.map(({ inputs }) => {
      const start = offset;
      offset += inputs.length;
      return results.slice(start, offset).map((r) => ({ ...r, index: r.index - start }));
    });
  }

  private async ingestIn(
    tx: EntityManager,
    entries: readonly { readonly input: AlertInput; readonly user: User }[],
    now: Date,
  ): Promise<{ results: IngestResult[]; changes: DecisionChange[] }> {
    const inputs = entries.map((e) => e.input);
    const results: (IngestResult | undefined)[] = new Array(inputs.length);
    const changes: DecisionChange[] = [];

    // 1. Activation facts first: the AD1s in this batch must see them.
    for (const [index, input] of inputs.entries()) {
      if (input.kind === 'ACTIVATION_OUTCOME') {
        const activation = await this.activations.recordOutcomeIn(tx, entries[index].user, input, now);
        results[index] = activationResult(index, input.kind, activation.id);
      } else if (input.kind === 'CH_FIRMWARE_ACTIVATION') {
        const activation = await this.activations.recordCommsHubActivationIn(tx, input, now);
        results[index] = activation
          ? activationResult(index, input.kind, activation.id)
          : { ...activationResult(index, input.kind, null), reason: 'UNKNOWN_DEVICE' };
      }
    }

    // 2. Store restores, then decide and store the new AD1s, once each (the AD1s see the restores:
    // they are facts). New rows come back from their INSERT; only duplicates (a retried batch)
    // are read.
    const { rows, storedKeys, ids } = await this.enrich(tx, entries);
    const fresh = await this.withoutKnownDuisResponses(tx, rows);
    const newRestores = await this.insertAlerts(
      tx,
      fresh.filter((r) => r.kind === 'SUPPLY_RESTORED'),
      now,
    );
    const candidates = new Map<string, AlertEntity>();
    let nextId = 0;
    for (const row of fresh) {
      if (row.kind !== 'AD1' || storedKeys.has(row.naturalKey) || candidates.has(row.naturalKey)) continue;
      candidates.set(row.naturalKey, unstoredAlert(row, ids[nextId++], now));
    }
    // Ascending IDs: the order the engine sees a batch in, as when they were read back sorted.
    const byId = (x: AlertEntity, y: AlertEntity) => (BigInt(x.id) < BigInt(y.id) ? -1 : 1);
    let storedIds: ReadonlySet<string> = new Set();
    const decided = await this.decisions.decideNewOutageAlerts(
      tx,
      [...candidates.values()].sort(byId),
      now,
      async (decided) => (storedIds = await this.storeDecidedAlerts(tx, decided, now)),
    );
    changes.push(...decided.changes);
    const newAd1s = [...candidates.values()].filter((a) => storedIds.has(a.id)).sort(byId);
    const inserted = [...newAd1s, ...newRestores];
    const insertedByKey = new Map(inserted.map((a) => [a.naturalKey, a]));
    const duplicates = rows.filter((r) => !insertedByKey.has(r.naturalKey));
    const known = duplicates.length
      ? ((await tx.query(
          `SELECT ${ALERT_COLUMNS} FROM alert WHERE natural_key = ANY($1::text[]) OR duis_response_id = ANY($2::text[])`,
          [
            duplicates.map((r) => r.naturalKey),
            duplicates.map((r) => r.duisResponseId).filter((d): d is string => !!d),
          ],
        )) as AlertEntity[])
      : [];
    const byKey = new Map([...known, ...inserted].map((a) => [a.naturalKey, a]));
    const byDuis = new Map(known.filter((a) => a.duisResponseId).map((a) => [a.duisResponseId!, a]));
    const alertOf = (row: StoredAlertRow) =>
      insertedByKey.get(row.naturalKey) ??
      byKey.get(row.naturalKey) ??
      (row.duisResponseId ? byDuis.get(row.duisResponseId) : undefined);

    newRestores.sort(byId);

    // 3. Re-decide the withheld AD1s that the new evidence touches.
    const affected = await this.affectedWithheldAlerts(tx, decided.withheldNeighbours, newRestores, inputs);
    const newIds = new Set(newAd1s.map((a) => a.id));
    changes.push(
      ...(await this.decisions.evaluateOutageAlerts(
        tx,
        affected.filter((id) => !newIds.has(id)),
        now,
        'EVIDENCE',
        decided.changes,
      )),
    );

    // 4. Pair each new restore with its AD1 and decide it the same way.
    changes.push(...(await this.pairAndDecideRestores(tx, newRestores, now)));

    // 5. Results, in input order, with each alert's current decision: the last change this
    // transaction made to it, else the row as read.
    const latest = new Map(changes.map((c) => [c.alert.id, c]));
    // Two copies of one new alert in a batch are stored once: the later copy is the duplicate.
    const reported = new Set<string>();
    for (const row of [...rows].sort((x, y) => x.index - y.index)) {
      const alert = alertOf(row)!;
      const change = latest.get(alert.id);
      const duplicate = !insertedByKey.has(row.naturalKey) || reported.has(alert.id);
      reported.add(alert.id);
      results[row.index] = {
        index: row.index,
        kind: row.kind,
        alertId: alert.id,
        activationId: null,
        duplicate,
        outcome: change ? change.outcome : alert.outcome,
        reason: change ? change.reason : alert.reason,
        dueAt: change ? change.dueAt : alert.dueAt,
        distributorId: alert.distributorId,
        routedBy: (alert.routedBy as AlertRouting | null) ?? null,
        unroutedReason: alert.unroutedReason,
      };
    }
    return { results: results as IngestResult[], changes };
  }

  /** Routing (MPAN to network operator) and area keys, for every AD1 and restore of the batch. */
  private async enrich(
    tx: EntityManager,
    entries: readonly { readonly input: AlertInput; readonly user: User }[],
  ): Promise<Enriched> {
    const alerts = entries
      .map(({ input, user }, index) => ({ input, index, by: user.subject }))
      .filter(
        (
          x,
        ): x is {
          input: Extract<AlertInput, { kind: 'AD1' | 'SUPPLY_RESTORED' }>;
          index: number;
          by: string;
        } => x.input.kind === 'AD1' || x.input.kind === 'SUPPLY_RESTORED',
      );
    if (alerts.length === 0) return { rows: [], storedKeys: new Set(), ids: [] };
    const ad1Keys = alerts.flatMap(({ input }) => (input.kind === 'AD1' ? [ad1NaturalKey(input)] : []));
    const guids = [
      ...new Set(alerts.map(({ input }) => (input.kind === 'AD1' ? input.commsHubGuid : input.esmeGuid))),
    ];
    // The current operators and the batch's devices in one statement (one round trip). The ESME's
    // area by a scalar subquery (a CH has at most one open link: comms_hub_link_open_ch_uq): index
    // lookups per device of the batch. As LEFT JOINs the planner could hash every open link with
    // its ESME, the whole inventory, for each batch (it did, on statistics not yet analysed).
    // Also: which of the batch's AD1s are stored already (a retried batch), and an ID for each
    // AD1 (new ones are decided before they are written: DecisionService.decideNewOutageAlerts).
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
      devices:
        [guid: string, mpan: string | null, areaKey: string | null, esmeAreaKey: string | null][] | null;
      stored: string[] | null;
      ids: string[];
    }[];
    const known = new Set(found.operators ?? []);
    const devices = (found.devices ?? []).map(([guid, mpan, areaKey, esmeAreaKey]) => ({
      guid,
      mpan,
      area_key: areaKey,
      esme_area_key: esmeAreaKey,
    }));
    // A CH without an area key borrows its ESME's: the engine correlates outages by area.
    const areaOf = new Map(devices.map((d) => [d.guid, d.area_key ?? d.esme_area_key]));
    // A restore that carries no MPxN is routed by its ESME's MPAN in the inventory.
    const mpanOf = new Map(devices.map((d) => [d.guid, d.mpan]));

    // Alerts whose own MPAN cannot route them (rare) look up the ESME that powered the hub at the
    // outage start: one statement for those only, so the common path costs nothing more.
    const mpanOfAlert = (input: (typeof alerts)[number]['input']) =>
      (input.kind === 'AD1' ? input.mpan : (input.mpan ?? mpanOf.get(input.esmeGuid) ?? null)) || null;
    const stray = alerts.filter(
      ({ input }) => input.kind === 'AD1' && routeByMpan(mpanOfAlert(input), known).distributorId === null,
    );
    const linkedMpan = new Map<number, string>();
    if (stray.length) {
      const rows = (await tx.query(
        `SELECT t.i, min(e.mpan) AS mpan, count(DISTINCT e.guid)::int AS esmes
           FROM unnest($1::bpchar[], $2::timestamptz[], $3::int[]) AS t(ch, at, i)
           JOIN comms_hub_link l ON l.comms_hub_guid = t.ch AND l.effective_from <= t.at
                                AND (l.effective_to IS NULL OR t.at < l.effective_to)
           JOIN device e ON e.guid = l.esme_guid
          GROUP BY t.i`,
        [
          stray.map(({ input }) => (input as Extract<AlertInput, { kind: 'AD1' }>).commsHubGuid),
          stray.map(({ input }) => (input as Extract<AlertInput, { kind: 'AD1' }>).startAt),
          stray.map(({ index }) => index),
        ],
      )) as { i: number; mpan: string | null; esmes: number }[];
      // Two ESMEs on one hub at the same instant is a data error: route by neither.
      for (const r of rows) if (r.esmes === 1 && r.mpan) linkedMpan.set(r.i, r.mpan);
    }

    const rows = alerts.map(({ input, index, by }): StoredAlertRow => {
      const mpan = mpanOfAlert(input);
      // A restore names its ESME: the inventory's MPAN of that ESME is the fallback.
      const fallback =
        input.kind === 'AD1'
          ? { mpan: linkedMpan.get(index) ?? null, via: 'COMMS_HUB_LINK' as const }
          : { mpan: mpanOf.get(input.esmeGuid) ?? null, via: 'ESME_INVENTORY' as const };
      const route = routeAlert(mpan, fallback, known);
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
    });
    return { rows, storedKeys: new Set(found.stored ?? []), ids: found.ids };
  }

  /** One multi-row INSERT; returns the rows that were new, as stored. */
  private async insertAlerts(
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
                          throttled_sequence_id, received_at, ingested_by, routed_by)
       SELECT k, nk, d, c, g, m, mv, di, ur, ak, ev, re, tc, ts, $2, ib, rb
         FROM json_to_recordset($1::json)
           AS i(k text, nk text, d text, c text, g text, m text, mv boolean, di text, ur text, ak text,
                ev timestamptz, re timestamptz, tc int, ts text, rb text, ib text)
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
  private async storeDecidedAlerts(
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
           due_at timestamptz, trigger text, in_window boolean, n int, ib text)
       ), stored AS (
         INSERT INTO alert (id, kind, natural_key, duis_response_id, alert_code, device_guid, mpan,
                            mpan_check_digit_valid, distributor_id, unrouted_reason, area_key, event_at,
                            throttled_count, throttled_sequence_id, received_at, ingested_by, routed_by,
                            outcome, reason, revision, due_at, in_activation_window)
         OVERRIDING SYSTEM VALUE
         SELECT id, k, nk, di2, c, g, m, mv, di, ur, ak, ev, tc, ts, $3, ib, rb,
                outcome, reason, revision, due_at, in_window
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
  private async withoutKnownDuisResponses(
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

  /**
   * Withheld (HELD, SUPPRESSED, PAIRED) AD1s that new facts may change: neighbours of new AD1s
   * (a cluster may now exist; read with their facts), AD1s of the CHs a restoring ESME powers,
   * and AD1s near an activation whose outcome arrived.
   */
  private async affectedWithheldAlerts(
    tx: EntityManager,
    withheldNeighbours: readonly string[],
    newRestores: readonly AlertEntity[],
    inputs: readonly AlertInput[],
  ): Promise<string[]> {
    // Neighbours of the new AD1s come with their facts (DecisionService.decideOutageAlerts).
    const ids = new Set<string>(withheldNeighbours);
    const add = (rows: { id: string }[]) => rows.forEach((r) => ids.add(r.id));
    const touched = [
      ...newRestores.map((r) => ({ device: r.deviceGuid, at: r.eventAt })),
      ...inputs
        .filter(
          (i): i is Extract<AlertInput, { kind: 'ACTIVATION_OUTCOME' }> => i.kind === 'ACTIVATION_OUTCOME',
        )
        .map((i) => ({ device: i.esmeGuid, at: i.executedAt })),
      ...inputs
        .filter(
          (i): i is Extract<AlertInput, { kind: 'CH_FIRMWARE_ACTIVATION' }> =>
            i.kind === 'CH_FIRMWARE_ACTIVATION',
        )
        .map((i) => ({ device: i.commsHubGuid, at: i.activatedAt })),
    ];
    if (touched.length) add(await withheldNear(tx, touched));
    return [...ids];
  }

  private async pairAndDecideRestores(
    tx: EntityManager,
    restores: readonly AlertEntity[],
    now: Date,
  ): Promise<DecisionChange[]> {
    if (restores.length === 0) return [];
    const esmes = [...new Set(restores.map((r) => r.deviceGuid))];
    const links = (await tx.query(
      `SELECT comms_hub_guid, esme_guid, effective_from, effective_to FROM comms_hub_link WHERE esme_guid = ANY($1)`,
      [esmes],
    )) as { comms_hub_guid: string; esme_guid: string; effective_from: Date; effective_to: Date | null }[];
    const associations = links.map((l) => ({
      commsHubGuid: l.comms_hub_guid,
      esmeGuid: l.esme_guid,
      effectiveFrom: l.effective_from,
      effectiveTo: l.effective_to,
    }));
    const times = restores.map((r) => r.eventAt.getTime());
    const ad1s = associations.length
      ? await tx
          .getRepository(AlertEntity)
          .createQueryBuilder('a')
          .where("a.kind = 'AD1' AND a.device_guid = ANY(:chs) AND a.event_at BETWEEN :from AND :to", {
            chs: [...new Set(associations.map((a) => a.commsHubGuid))],
            from: new Date(Math.min(...times) - DAY_MS),
            to: new Date(Math.max(...times) + DAY_MS),
          })
          .getMany()
      : [];
    const ad1ById = new Map(ad1s.map((a) => [a.id, a]));
    const latest = await this.decisions.latestDecisions(
      tx,
      ad1s.map((a) => a.id),
    );
    const pairs = restores.map((restore) => {
      const paired = pairSupplyRestoredAlert(
        restoreFactOf(restore),
        ad1s.map(toOutageAlertFact),
        associations,
        this.engineSettings,
      );
      const alert = paired ? ad1ById.get(paired.id)! : null;
      const json = alert ? latest.get(alert.id) : undefined;
      return {
        restore,
        paired: alert
          ? { alert, decision: json ? (decodeAlertDecision(json) as AlertDecision) : null }
          : null,
      };
    });
    const withPair = pairs.filter((p) => p.paired);
    if (withPair.length) {
      await tx.query(
        `UPDATE alert SET paired_alert_id = p.ad1 FROM unnest($1::bigint[], $2::bigint[]) AS p(id, ad1) WHERE alert.id = p.id`,
        [withPair.map((p) => p.restore.id), withPair.map((p) => p.paired!.alert.id)],
      );
    }
    return this.decisions.decideRestores(tx, pairs, now, 'INGEST');
  }
}

/** Withheld AD1s of a device (a CH, or the CHs an ESME powers) within a day of an instant. */
export async function withheldNear(
  tx: EntityManager,
  touched: readonly { device: string; at: Date }[],
): Promise<{ id: string }[]> {
  return (await tx.query(
    `SELECT DISTINCT a.id::text AS id
       -- bpchar, not text: compared with the char(23) GUID columns, text would cast the column and
       -- lose the index (a scan of every link per withheld alert).
       FROM unnest($1::bpchar[], $2::timestamptz[]) AS t(device, at)
       JOIN alert a ON a.kind = 'AD1' AND a.outcome IN ('HELD', 'SUPPRESSED', 'PAIRED')
                   AND a.event_at BETWEEN t.at - interval '1 day' AND t.at + interval '1 day'
                   AND (a.device_guid = t.device
                        OR a.device_guid IN (SELECT comms_hub_guid FROM comms_hub_link WHERE esme_guid = t.device))`,
    [touched.map((t) => t.device), touched.map((t) => t.at)],
  )) as { id: string }[];
}

function activationResult(
  index: number,
  kind: AlertInput['kind'],
  activationId: string | null,
): IngestResult {
  return {
    index,
    kind,
    alertId: null,
    activationId,
    duplicate: false,
    outcome: null,
    reason: null,
    dueAt: null,
  };
}

function text(value: string | null | undefined, field: string): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (value.length > MAX_TEXT || /\p{Cc}/u.test(value)) {
    throw new InvalidInputError(
      'INVALID_TEXT',
      `${field} must be at most ${MAX_TEXT} printable characters`,
      field,
    );
  }
  return value;
}

function validDate(value: Date, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new InvalidInputError('INVALID_DATETIME', `${field} is not a date-time`, field);
  }
  return value;
}

/** Checks and normalises one alert; the MPAN of an alert is kept as sent (a bad one is routed to UNROUTED). */
export function validateAlert(input: AlertInput, path: string): AlertInput {
  switch (input.kind) {
    case 'AD1': {
      const count = input.throttledCount ?? 1;
      if (!Number.isInteger(count) || count < 1 || count > 1_000_000) {
        throw new InvalidInputError(
          'INVALID_THROTTLED_COUNT',
          'throttledCount must be 1 or more',
          `${path}.throttledCount`,
        );
      }
      return {
        kind: 'AD1',
        commsHubGuid: parseEui64(input.commsHubGuid, `${path}.commsHubGuid`),
        startAt: validDate(input.startAt, `${path}.startAt`),
        mpan: text(input.mpan, `${path}.mpan`) ?? '',
        duisResponseId: text(input.duisResponseId, `${path}.duisResponseId`),
        throttledCount: count,
        throttledSequenceId: text(input.throttledSequenceId, `${path}.throttledSequenceId`),
      };
    }
    case 'SUPPLY_RESTORED': {
      const code = input.alertCode.toUpperCase().replace(/^0X/, '');
      if (!(SUPPLY_RESTORED_ALERT_CODES as readonly string[]).includes(code)) {
        throw new InvalidInputError(
          'INVALID_ALERT_CODE',
          `alertCode must be one of 0x8F35-0x8F3C`,
          `${path}.alertCode`,
        );
      }
      const interruptionAt = validDate(input.interruptionAt, `${path}.interruptionAt`);
      const restorationAt = validDate(input.restorationAt, `${path}.restorationAt`);
      if (restorationAt.getTime() < interruptionAt.getTime()) {
        throw new InvalidInputError(
          'RESTORATION_BEFORE_INTERRUPTION',
          'restorationAt is before interruptionAt',
          `${path}.restorationAt`,
        );
      }
      return {
        kind: 'SUPPLY_RESTORED',
        esmeGuid: parseEui64(input.esmeGuid, `${path}.esmeGuid`),
        alertCode: code,
        interruptionAt,
        restorationAt,
        mpan: text(input.mpan, `${path}.mpan`),
        duisResponseId: text(input.duisResponseId, `${path}.duisResponseId`),
      };
    }
    case 'ACTIVATION_OUTCOME': {
      const code = input.alertCode.toUpperCase().replace(/^0X/, '');
      if (!['8F66', '8F67', 'IMMEDIATE'].includes(code)) {
        throw new InvalidInputError(
          'INVALID_ALERT_CODE',
          'alertCode must be 8F66, 8F67 or IMMEDIATE',
          `${path}.alertCode`,
        );
      }
      if (!(ACTIVATION_OUTCOME_CODES as readonly string[]).includes(input.outcomeCode)) {
        throw new InvalidInputError('INVALID_OUTCOME_CODE', 'unknown outcomeCode', `${path}.outcomeCode`);
      }
      if (code === '8F67' && input.outcomeCode === 'success') {
        throw new InvalidInputError(
          'INVALID_OUTCOME_CODE',
          '0x8F67 (not actioned) cannot report success',
          `${path}.outcomeCode`,
        );
      }
      const esmeGuid = parseEui64(input.esmeGuid, `${path}.esmeGuid`);
      const request = parseRequestId(input.requestId, `${path}.requestId`);
      if (request.targetId !== esmeGuid) {
        throw new InvalidInputError(
          'REQUEST_ID_TARGET_MISMATCH',
          'the request ID targets another device',
          `${path}.requestId`,
        );
      }
      return {
        kind: 'ACTIVATION_OUTCOME',
        esmeGuid,
        alertCode: code,
        requestId: request.requestId,
        outcomeCode: input.outcomeCode as ActivationOutcomeCode,
        executedAt: validDate(input.executedAt, `${path}.executedAt`),
        firmwareVersion: input.firmwareVersion
          ? parseFirmwareVersion(input.firmwareVersion, `${path}.firmwareVersion`)
          : null,
      };
    }
    case 'CH_FIRMWARE_ACTIVATION':
      return {
        kind: 'CH_FIRMWARE_ACTIVATION',
        commsHubGuid: parseEui64(input.commsHubGuid, `${path}.commsHubGuid`),
        firmwareVersion: parseFirmwareVersion(input.firmwareVersion, `${path}.firmwareVersion`),
        activatedAt: validDate(input.activatedAt, `${path}.activatedAt`),
      };
  }
}
