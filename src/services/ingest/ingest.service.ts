import type { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal';
import type { Clock } from '../../clock';
import type { EngineSettings } from '../../domain/engine';
import { InvalidInputError, NotFoundError } from '../../domain/errors';
import type { AlertRouting } from '../../domain/routing';
import type { AlertEntity } from '../../entities';
import type { ActivationService } from '../activations/activation.service';
import type { DecisionService } from '../alerts/decision.service';
import type { DeliveryService } from '../delivery/delivery.service';
import { requireRole } from '../shared/access';
import type { User } from '../shared/access';
import type { DecisionChange } from '../shared/decision-change';
import { countBy, silentObserver } from '../shared/observer';
import type { ServiceObserver } from '../shared/observer';
import { capturedContext, inSpan, linkOf, traceParentIn } from '../../tracing';
import { retryTransactionConflicts } from '../../db/transaction-retry';
import type { Context } from '../../tracing';
import { validateAlert } from './alert-input';
import type { AlertInput, IngestResult } from './alert-input';
import {
  ALERT_COLUMNS,
  enrichAlerts,
  insertAlerts,
  storeDecidedAlerts,
  unstoredAlert,
  withoutKnownDuisResponses,
} from './alert-rows';
import type { StoredAlertRow } from './alert-rows';
import { BatchCoalescer } from './batch-coalescer';
import { pairAndDecideRestores } from './restore-pairing';

export type { AlertInput, IngestResult } from './alert-input';

export interface IngestSettings {
  readonly maxBatchSize: number;
  /** Ingest transactions at once; batches arriving meanwhile share the next (BatchCoalescer). */
  readonly transactions: number;
}

/** One ingestAlerts call, validated: who sent it, its alerts, and its trace (tracing on). */
interface IngestRequest {
  readonly user: User;
  readonly inputs: readonly AlertInput[];
  readonly trace?: Context;
}

/**
 * ingestAlerts: one transaction per batch. Alerts are validated first (one bad alert rejects the
 * batch and nothing is written), stored once each (natural key, and DUIS response ID when
 * present), routed to the MPAN's network operator or the UNROUTED queue, and decided.
 * Activation outcomes in the batch are applied first, so the AD1s beside them see them; one whose
 * execution time its activation cannot have had is refused alone (its result's reason says why).
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
    return this.coalescer.submit({ user, inputs: valid, trace: capturedContext() }, valid.length);
  }

  /**
   * Several batches in one transaction (BatchCoalescer): stored, decided and enqueued together,
   * each batch's results with its own indexes.
   */
  private async ingestTogether(requests: readonly IngestRequest[]): Promise<IngestResult[][]> {
    const now = this.clock.now();
    const entries = requests.flatMap(({ user, inputs, trace }) => {
      // Each alert remembers the request it came in: its trace goes on from there.
      const traceParent = traceParentIn(trace);
      return inputs.map((input) => ({ input, user, traceParent }));
    });
    // One span for the transaction, under the first request and linked to the others it carries.
    const span = () => ({
      attributes: { 'poa.ingest.requests': requests.length, 'poa.ingest.alerts': entries.length },
      parent: requests[0].trace && {
        context: requests[0].trace,
        links: requests.slice(1).flatMap((r) => linkOf(r.trace)),
      },
    });
    const { results, enqueued } = await inSpan('poa.ingest.transaction', span, () =>
      // Idempotent (natural keys, DUIS response IDs): a run aborted for a concurrent one runs again.
      retryTransactionConflicts(() =>
        this.dataSource.transaction(async (tx) => {
          const { results, changes } = await this.ingestIn(tx, entries, now);
          // Last step before commit: the DNO messages and their sequence numbers.
          return { results, enqueued: await this.delivery.enqueue(tx, changes) };
        }),
      ),
    );
    this.delivery.published(enqueued);
    let offset = 0;
    return requests.map(({ inputs }) => {
      const start = offset;
      offset += inputs.length;
      return results.slice(start, offset).map((r) => ({ ...r, index: r.index - start }));
    });
  }

  /**
   * One transaction's work: activation facts first (the batch's AD1s must see them), then the
   * AD1s and restores stored once each and decided, the withheld AD1s the new facts touch decided
   * again, each new restore paired and decided, and the results in input order.
   */
  private async ingestIn(
    tx: EntityManager,
    entries: readonly IngestEntry[],
    now: Date,
  ): Promise<{ results: IngestResult[]; changes: DecisionChange[] }> {
    const inputs = entries.map((e) => e.input);
    const results: (IngestResult | undefined)[] = new Array(inputs.length);
    const touched = await this.recordActivationFacts(tx, entries, now, results);
    const stored = await this.storeAlerts(tx, entries, now);
    const changes = [...stored.changes];
    const affected = await this.affectedOpenAlerts(
      tx,
      stored.withheldNeighbours,
      stored.newRestores,
      touched,
      now,
    );
    const newIds = new Set(stored.newAd1s.map((a) => a.id));
    changes.push(
      ...(await this.decisions.evaluateOutageAlerts(
        tx,
        affected.filter((id) => !newIds.has(id)),
        now,
        'EVIDENCE',
        stored.changes,
      )),
    );
    changes.push(
      ...(await pairAndDecideRestores(tx, this.decisions, this.engineSettings, stored.newRestores, now)),
    );
    for (const result of await alertResults(tx, stored, changes)) results[result.index] = result;
    return { results: results as IngestResult[], changes };
  }

  /**
   * Activation outcomes and hub activations of the batch, recorded before its alerts; returns
   * the devices and instants they touched. An outcome refused (EXECUTED_AT_OUT_OF_RANGE) or a hub
   * the inventory does not know is reported for that alert alone, with nothing written for it: a
   * batch never loses its other alerts.
   */
  private async recordActivationFacts(
    tx: EntityManager,
    entries: readonly { readonly input: AlertInput; readonly user: User }[],
    now: Date,
    results: (IngestResult | undefined)[],
  ): Promise<{ device: string; at: Date }[]> {
    const touched: { device: string; at: Date }[] = [];
    for (const [index, { input, user }] of entries.entries()) {
      if (input.kind === 'ACTIVATION_OUTCOME') {
        const outcome = await this.applyOutcome(tx, user, input, now);
        results[index] = outcome.recorded
          ? activationResult(index, input.kind, outcome.activation.id)
          : { ...activationResult(index, input.kind, null), reason: outcome.reason };
        if (outcome.recorded) touched.push({ device: input.esmeGuid, at: input.executedAt });
      } else if (input.kind === 'CH_FIRMWARE_ACTIVATION') {
        const activation = await this.activations.recordCommsHubActivationIn(tx, input, now);
        results[index] = activation
          ? activationResult(index, input.kind, activation.id)
          : { ...activationResult(index, input.kind, null), reason: 'UNKNOWN_DEVICE' };
        if (activation) touched.push({ device: input.commsHubGuid, at: input.activatedAt });
      }
    }
    return touched;
  }

  /**
   * One DCC outcome of a batch: applied, or the reason it was refused alone (an execution time
   * its request cannot have had; a request ID nobody knows, or another supplier's), with nothing
   * written for it.
   */
  private async applyOutcome(
    tx: EntityManager,
    user: User,
    input: Extract<AlertInput, { kind: 'ACTIVATION_OUTCOME' }>,
    now: Date,
  ): Promise<{ recorded: true; activation: { id: string } } | { recorded: false; reason: string }> {
    try {
      const outcome = await this.activations.applyOutcomeIn(tx, user, input, now);
      return outcome.recorded ? outcome : { recorded: false, reason: outcome.refusal.reason };
    } catch (error) {
      // The lookup is a read: nothing was written, and the transaction goes on.
      if (error instanceof NotFoundError) return { recorded: false, reason: 'UNKNOWN_ACTIVATION' };
      throw error;
    }
  }

  /**
   * Stores the batch's restores, then decides and stores its new AD1s, once each (the AD1s see
   * the restores: they are facts). New AD1s are decided before they are written
   * (DecisionService.decideNewOutageAlerts); AD1s stored already are left to `alertResults`.
   */
  private async storeAlerts(
    tx: EntityManager,
    entries: readonly IngestEntry[],
    now: Date,
  ): Promise<StoredBatch> {
    const { rows, storedKeys, ids } = await enrichAlerts(tx, entries);
    const fresh = await withoutKnownDuisResponses(tx, rows);
    const newRestores = await insertAlerts(
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
    let storedIds: ReadonlySet<string> = new Set();
    const decided = await this.decisions.decideNewOutageAlerts(
      tx,
      [...candidates.values()].sort(byId),
      now,
      async (decisions) => (storedIds = await storeDecidedAlerts(tx, decisions, now)),
    );
    const newAd1s = [...candidates.values()].filter((a) => storedIds.has(a.id)).sort(byId);
    return {
      rows,
      newAd1s,
      newRestores: newRestores.sort(byId),
      changes: decided.changes,
      withheldNeighbours: decided.withheldNeighbours,
    };
  }

  /**
   * AD1s whose decision new facts may change: withheld neighbours of new AD1s (a cluster may now
   * exist; read with their facts), and the open AD1s (withheld, or delivered within the
   * correction bound) of the CHs a restoring ESME powers, around its interruption and its
   * restoration (a deferred run follows the restoration), and near an activation whose outcome
   * arrived.
   */
  private async affectedOpenAlerts(
    tx: EntityManager,
    withheldNeighbours: readonly string[],
    newRestores: readonly AlertEntity[],
    activationFacts: readonly { device: string; at: Date }[],
    now: Date,
  ): Promise<string[]> {
    // Neighbours of the new AD1s come with their facts (DecisionService.decideOutageAlerts).
    const ids = new Set<string>(withheldNeighbours);
    const touched = [
      ...newRestores.flatMap((r) => [
        { device: r.deviceGuid, at: r.eventAt },
        ...(r.restoredAt ? [{ device: r.deviceGuid, at: r.restoredAt }] : []),
      ]),
      ...activationFacts,
    ];
    if (touched.length) (await this.decisions.alertsOpenNear(tx, touched, now)).forEach((id) => ids.add(id));
    return [...ids];
  }
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

/** One alert of a transaction: the input, its sender and the trace of its request. */
interface IngestEntry {
  readonly input: AlertInput;
  readonly user: User;
  readonly traceParent: string | null;
}

/** What storeAlerts did: the batch's rows, the alerts it stored, and their first decisions. */
interface StoredBatch {
  readonly rows: readonly StoredAlertRow[];
  readonly newAd1s: readonly AlertEntity[];
  readonly newRestores: readonly AlertEntity[];
  readonly changes: readonly DecisionChange[];
  readonly withheldNeighbours: readonly string[];
}

/** Ascending IDs: the order the engine sees a batch in, as when they were read back sorted. */
const byId = (x: AlertEntity, y: AlertEntity) => (BigInt(x.id) < BigInt(y.id) ? -1 : 1);

/**
 * The results of the batch's AD1s and restores, in input order, each with its alert's current
 * decision: the last change this transaction made to it, else the row as stored (a duplicate,
 * read here: the only alerts of a batch read back).
 */
async function alertResults(
  tx: EntityManager,
  stored: StoredBatch,
  changes: readonly DecisionChange[],
): Promise<IngestResult[]> {
  const inserted = [...stored.newAd1s, ...stored.newRestores];
  const insertedByKey = new Map(inserted.map((a) => [a.naturalKey, a]));
  const duplicates = stored.rows.filter((r) => !insertedByKey.has(r.naturalKey));
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
    byKey.get(row.naturalKey) ?? (row.duisResponseId ? byDuis.get(row.duisResponseId) : undefined);
  const latest = new Map(changes.map((c) => [c.alert.id, c]));
  // Two copies of one new alert in a batch are stored once: the later copy is the duplicate.
  const reported = new Set<string>();
  return [...stored.rows]
    .sort((x, y) => x.index - y.index)
    .map((row) => {
      const alert = alertOf(row)!;
      const change = latest.get(alert.id);
      const duplicate = !insertedByKey.has(row.naturalKey) || reported.has(alert.id);
      reported.add(alert.id);
      return {
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
    });
}
