import type { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import { messagesFor } from '../domain/delivery';
import type { DnoMessageKind } from '../domain/delivery';
import type { AlertDecision, SupplyRestoredDecision } from '../domain/engine';
import { ForbiddenError, InvalidInputError } from '../domain/errors';
import { parseSequence } from './pagination';
import { DELIVERY_PREFERENCES } from '../domain/model';
import type { DecisionOutcome, DeliveryPreference } from '../domain/model';
import { AlertEntity } from '../entities';
import { SCRAPE_STATEMENT } from '../db/data-source';
import { preparedQuery } from '../db/prepared';
import { returnedRows } from '../db/rows';
import type { AppPubSub } from '../realtime/pubsub';
import type { SharedEvent } from '../realtime/shared-events';
import { requireRole } from './access';
import { CurrentAlerts, alertIdsOf, pairedIdOf } from './current-alerts';
import type { AlertNow, ReadAlertsNow } from './current-alerts';
import { DnoOutboxFeed } from './outbox-feed';
import { budgetRecordParams, budgetRecordSql, recordSafetyBudget } from './safety-budget';
import type { User } from './access';
import type { DecisionChange } from './decision.service';
import { countBy, silentObserver } from './observer';
import type { ServiceObserver } from './observer';

/** The message as stored in the outbox and sent to the DNO: everything it needs, pre-shaped. */
export interface DnoMessagePayload {
  readonly alert: {
    id: string;
    kind: 'AD1' | 'SUPPLY_RESTORED';
    alertCode: string;
    deviceGuid: string;
    mpan: string | null;
    mpanCheckDigitValid: boolean;
    distributorId: string | null;
    unroutedReason: string | null;
    areaKey: string | null;
    eventAt: string;
    restoredAt: string | null;
    throttledCount: number;
    duisResponseId: string | null;
    receivedAt: string;
    pairedAlertId: string | null;
    /** How it was routed (absent from messages written before 2026-12-07). */
    routedBy?: string | null;
  };
  readonly decision: {
    revision: number;
    outcome: DecisionOutcome;
    reasonCode: string;
    late: boolean;
    decidedAt: string;
  };
  /** The AD1 this message pairs with (OTA_INDUCED: the AD1 itself; SUPPLY_RESTORED: its outage alert). */
  readonly pairedAlertId: string | null;
  /** OTA_INDUCED (and ANNOTATE classification): what made the AD1 OTA-induced. */
  readonly otaInduced: {
    activationId: string | null;
    activationRequestId: string | null;
    actualExecutedAt: string | null;
    manufacturer: string | null;
    model: string | null;
    firmwareBefore: string | null;
    firmwareAfter: string | null;
    ruleId: string | null;
    ruleVersion: number | null;
    windowFrom: string | null;
    windowTo: string | null;
  } | null;
  // No `evidence`: the decision's evidence is in the ledger (explainAlert) and no DNO field shows
  // it, yet it was 60% of a message's bytes (1,489 -> 582 on average), all written under the
  // DNO's sequence lock. Messages stored before still carry it; nothing reads it.
}

export interface DnoMessage {
  readonly distributorId: string;
  readonly sequence: string;
  readonly kind: DnoMessageKind;
  readonly createdAt: Date;
  readonly payload: DnoMessagePayload;
}

/**
 * What a DNO's stream hands to each subscriber: a message and its alerts as they are now. Events
 * of one message showing the same reads of its alerts share their execution (SharedEvent):
 * every subscriber of the DNO with the same selection and rights gets one result.
 */
export interface DnoEvent extends SharedEvent {
  readonly message: DnoMessage;
  /**
   * The message's alert and the one it pairs with, as the `alert(id)` query returns them now
   * (null: no longer on record); undefined when the database could not be read, and the message
   * goes out as it was written.
   */
  readonly now?: ReadonlyMap<string, AlertNow | null>;
}

/** What a transaction enqueued: handed to `published` once it has committed. */
export interface Enqueued {
  /** The newest sequence each DNO got: what to wake subscribers with. */
  readonly sequences: ReadonlyMap<string, string>;
  /** The decision changes committed with it (for metrics). */
  readonly changes: readonly DecisionChange[];
}

export const NOTHING_ENQUEUED: Enqueued = { sequences: new Map(), changes: [] };

export interface DeliveryStatus {
  readonly distributorId: string;
  readonly newestSequence: string;
  readonly acknowledgedSequence: string;
  readonly lag: string;
  readonly preference: DeliveryPreference;
}

const REPLAY_PAGE = 500;
/** Messages a DNO's feed keeps for its subscribers on this instance (the newest). */
const FEED_WINDOW = 2_000;
/** Feeds re-read the outbox at least this often, so a lost wake-up delays, never loses. */
const SAFETY_POLL_MS = 5_000;
/** Events a subscriber is handed in one turn of the event loop before it lets others run. */
const EVENTS_PER_TURN = 32;
/**
 * How old an alert's state read for a stream may be when its event goes out, unless this instance
 * changed the alert since (CurrentAlerts): how long a change made on another instance may go
 * unseen by a replay here. Shorter made subscribers working through a storm's backlog read their
 * pages' states again and again, and fall further behind for it.
 */
const ALERT_STATE_FRESH_MS = 10_000;

/**
 * Delivery to network operators through a durable per-DNO outbox. Messages are written in the
 * transaction of the decision that caused them; sequence numbers are allocated under the DNO's
 * row lock as the transaction's last step, so they commit in order. Subscribers replay from the
 * outbox and are woken (never fed) by pub/sub, so a lost notification loses nothing.
 */
export class DeliveryService {
  private readonly feeds: OutboxFeeds;
  private columns?: readonly { databaseName: string; propertyName: string }[];

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly pubSub: AppPubSub,
    readAlertsNow: ReadAlertsNow,
    private readonly observer: ServiceObserver = silentObserver,
  ) {
    this.feeds = new OutboxFeeds(
      pubSub,
      (distributorId, after, limit) => this.readWithAlerts(distributorId, after, limit),
      (distributorId, after, limit) => this.read(distributorId, after, limit),
      readAlertsNow,
    );
  }

  /**
   * Ends a decision transaction: adds its changes to the safety-budget counters and writes the
   * messages they produce, in one statement. Call once per transaction, last, with every change
   * it made. The DNOs' sequence rows are locked until commit, in one sorted statement, so
   * concurrent transactions cannot deadlock on them; the budget rows are this connection's own
   * (budgetRecordSql) and lock nobody out.
   */
  async enqueue(tx: EntityManager, changes: readonly DecisionChange[]): Promise<Enqueued> {
    const routed = changes.filter((c) => c.alert.distributorId !== null);
    if (routed.length === 0) {
      await recordSafetyBudget(tx, changes);
      return { sequences: new Map(), changes };
    }
    // A decision made on facts already carries the DNO's preference it was made under; only the
    // others (restores) need it read.
    const unknown = [
      ...new Set(routed.filter((c) => !c.preference).map((c) => c.alert.distributorId!)),
    ].sort();
    const preferences = unknown.length ? await this.preferences(tx, unknown) : new Map();
    const messages: {
      distributorId: string;
      /** 1, 2, ... within its DNO: the offset from the DNO's first new sequence. */
      ordinal: number;
      kind: DnoMessageKind;
      alertId: string;
      alertEventAt: Date;
      revision: number;
      payload: string;
    }[] = [];
    const counts = new Map<string, number>();
    for (const change of routed) {
      const distributorId = change.alert.distributorId!;
      const kinds = messagesFor({
        alertKind: change.alert.kind,
        previous: change.previousOutcome,
        next: change.outcome,
        preference: change.preference ?? preferences.get(distributorId) ?? 'FILTER',
      });
      for (const kind of kinds) {
        const ordinal = (counts.get(distributorId) ?? 0) + 1;
        counts.set(distributorId, ordinal);
        messages.push({
          distributorId,
          ordinal,
          kind,
          alertId: change.alert.id,
          alertEventAt: change.alert.eventAt,
          revision: change.revision,
          payload: JSON.stringify(payloadOf(change, kind)),
        });
      }
    }
    if (messages.length === 0) {
      await recordSafetyBudget(tx, changes);
      return { sequences: new Map(), changes };
    }
    const distributors = [...counts.keys()].sort();
    // One statement, one round trip while the locks are held: the DNOs' sequence rows are taken
    // in distributor order (ORDER BY feeds ON CONFLICT in that order) and each message is
    // numbered from its DNO's new last sequence. Before, this took three statements per DNO, and
    // every other transaction of those DNOs waited on the lock through all of them.
    const rows = returnedRows<{ distributor_id: string; last: string }>(
      await preparedQuery(
        tx,
        'poa_sieve_outbox_enqueue',
        `WITH budget AS (
           ${budgetRecordSql(11)}
         ), counts AS (
           SELECT d, n FROM unnest($1::text[], $2::bigint[]) AS c(d, n)
         ), taken AS (
           INSERT INTO dno_sequence AS s (distributor_id, last_sequence)
           SELECT d, n FROM counts ORDER BY d
           ON CONFLICT (distributor_id) DO UPDATE SET last_sequence = s.last_sequence + EXCLUDED.last_sequence
           RETURNING s.distributor_id, s.last_sequence
         ), written AS (
           INSERT INTO dno_outbox (distributor_id, sequence, kind, alert_id, alert_event_at, decision_revision, payload, created_at)
           SELECT m.d, t.last_sequence - c.n + m.i, m.k, m.a, m.e, m.r, $8::jsonb -> (m.o - 1)::int, $10
             FROM unnest($3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::int[], $9::timestamptz[])
                    WITH ORDINALITY AS m(d, i, k, a, r, e, o)
             JOIN taken t ON t.distributor_id = m.d
             JOIN counts c ON c.d = m.d
         )
         SELECT distributor_id, last_sequence::text AS last FROM taken`,
        [
          distributors,
          distributors.map((d) => counts.get(d)!),
          messages.map((m) => m.distributorId),
          messages.map((m) => m.ordinal),
          messages.map((m) => m.kind),
          messages.map((m) => m.alertId),
          messages.map((m) => m.revision),
          // One JSON array, not a jsonb[] (see DecisionService.append).
          `[${messages.map((m) => m.payload).join(',')}]`,
          messages.map((m) => m.alertEventAt),
          this.clock.now(),
          ...budgetRecordParams(changes),
        ],
      ),
    );
    return { sequences: new Map(rows.map((r) => [r.distributor_id, r.last])), changes };
  }

  /**
   * After commit: wakes the subscribers of each DNO that got messages, and makes this instance's
   * streams read the changed alerts afresh (a change that sends no message, such as HELD to
   * SUPPRESSED in FILTER, must not leave an older state to be shown; other instances' streams
   * read it again within ALERT_STATE_FRESH_MS).
   */
  published(enqueued: Enqueued): void {
    this.feeds.forget(enqueued.changes);
    for (const [distributorId, sequence] of enqueued.sequences) {
      // This instance's feed at once; the others (and this one again, a no-op) through pub/sub,
      // whose round trip through PostgreSQL took 35 ms at the median on a busy event loop.
      this.feeds.wake(distributorId, sequence);
      void this.pubSub.publish('DNO_OUTBOX', distributorId, { distributorId, sequence });
    }
    const key = (c: DecisionChange) => `${c.alert.kind}/${c.outcome}/${c.reason}`;
    for (const { item, count } of countBy(enqueued.changes, key))
      this.observer.decided(item.alert.kind, item.outcome, item.reason, count);
  }

  /**
   * A DNO's stream: everything after `after` (or after its acknowledged position) from the
   * outbox, then live. Validates access before the first message. The DNO's subscribers on this
   * instance share one reader of its outbox (DnoOutboxFeed); each keeps its own cursor.
   */
  async stream(
    principal: Principal,
    distributorIdArg: string | null | undefined,
    after: string | null | undefined,
  ): Promise<AsyncIterable<DnoEvent>> {
    const distributorId = this.streamFor(requireRole(principal, 'ED', 'OPERATOR'), distributorIdArg);
    let cursor =
      after === null || after === undefined
        ? await this.acknowledgedSequence(distributorId)
        : parseSequence(after, 'after');
    // The feed listens before its first read: a message committed between a read and the wait
    // still wakes it.
    const { feed, current } = this.feeds.acquire(distributorId);
    this.observer.subscribers(distributorId, 1);
    let buffer: readonly DnoMessage[] = [];
    let next = 0;
    let sleeping: { cancel(): void } | null = null;
    let served = 0;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      sleeping?.cancel();
      this.observer.subscribers(distributorId, -1);
      this.feeds.release(distributorId);
    };
    // An explicit iterator rather than a generator: return() must end a wait at once (a
    // generator cannot be interrupted while it awaits), so closed sockets free everything now.
    const iterator: AsyncIterableIterator<DnoEvent> = {
      next: async () => {
        while (!closed) {
          if (next < buffer.length) {
            // Sends no longer wait for their write (src/realtime/ws-transport.ts): a subscriber with
            // a backlog would otherwise hold the event loop until it had sent all of it.
            if (++served % EVENTS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
            if (closed) break;
            return { value: await eventOf(current, buffer, next++), done: false };
          }
          let page;
          try {
            page = await feed.next(cursor);
          } catch (error) {
            // A failed read ends the stream, and nobody calls return() after a rejected next()
            // (not graphql-js, not for-await): release the feed here, or every subscription that
            // fails while the database is away leaks its share of it.
            close();
            throw error;
          }
          if (page.messages.length) {
            buffer = page.messages;
            next = 0;
            cursor = buffer[buffer.length - 1].sequence;
            continue;
          }
          if (closed) break;
          const wait = feed.after(page.generation, cursor);
          sleeping = wait;
          await wait.wait;
          sleeping = null;
        }
        return { value: undefined, done: true };
      },
      return: () => {
        close();
        return Promise.resolve({ value: undefined, done: true });
      },
      throw: (error?: unknown) => {
        close();
        return Promise.reject(error);
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /**
   * Outbox messages of a DNO after a sequence, in order, with the alerts they show as they are
   * now (null: no longer on record), in one statement: a stream reads this for every page, and a
   * second round trip for the alerts doubled the time a page took while the pool was busy.
   */
  async readWithAlerts(
    distributorId: string,
    after: string,
    limit: number,
  ): Promise<{ messages: DnoMessage[]; alerts: Map<string, AlertNow | null> }> {
    const columns = this.alertColumns();
    const select = (alias: string) =>
      columns.map((c) => `${alias}.${c.databaseName} AS "${alias}.${c.propertyName}"`).join(', ');
    // Each alert by its key, one index probe per message: LATERAL ... LIMIT 1 keeps the planner
    // from hashing the whole alert table, which it preferred for a page of up to 500 (costed on
    // the LIMIT, not on the handful a tail read finds), at 25-40 ms a read. Prepared: planning
    // a join over the partitions cost as much again.
    const runner = this.dataSource.createQueryRunner();
    let rows: ({
      sequence: string;
      kind: DnoMessageKind;
      payload: DnoMessagePayload;
      created_at: Date;
    } & Record<string, unknown>)[];
    try {
      rows = await preparedQuery(
        runner.manager,
        'dno_outbox_page_with_alerts',
        `SELECT o.sequence::text AS sequence, o.kind, o.payload, o.created_at, ${select('a')}, ${select('p')}
           FROM (SELECT * FROM dno_outbox WHERE distributor_id = $1 AND sequence > $2
                  ORDER BY sequence LIMIT $3) o
           LEFT JOIN LATERAL (SELECT * FROM alert a WHERE a.id = o.alert_id AND a.event_at = o.alert_event_at
                               LIMIT 1) a ON true
           LEFT JOIN LATERAL (SELECT * FROM alert p
                               WHERE o.kind <> 'OTA_INDUCED' AND p.id = (o.payload->>'pairedAlertId')::bigint
                               LIMIT 1) p ON true
          ORDER BY o.sequence`,
        [distributorId, after, limit],
      );
    } finally {
      await runner.release();
    }
    const alerts = new Map<string, AlertNow | null>();
    const stateOf = (row: Record<string, unknown>, alias: string): AlertNow | null => {
      if (row[`${alias}.id`] === null) return null;
      const alert: Record<string, unknown> = {};
      for (const c of columns) alert[c.propertyName] = row[`${alias}.${c.propertyName}`];
      return { alert: alert as unknown as AlertEntity };
    };
    const messages = rows.map((r) => {
      const message: DnoMessage = {
        distributorId,
        sequence: r.sequence,
        kind: r.kind,
        createdAt: r.created_at,
        payload: r.payload,
      };
      alerts.set(r.payload.alert.id, stateOf(r, 'a'));
      const paired = pairedIdOf(message);
      if (paired && paired !== r.payload.alert.id) alerts.set(paired, stateOf(r, 'p'));
      return message;
    });
    return { messages, alerts };
  }

  /** The alert table's columns and the entity's property names (as TypeORM maps them). */
  private alertColumns(): readonly { databaseName: string; propertyName: string }[] {
    this.columns ??= this.dataSource
      .getMetadata(AlertEntity)
      .columns.map((c) => ({ databaseName: c.databaseName, propertyName: c.propertyName }));
    return this.columns;
  }

  /** Outbox messages of a DNO after a sequence, in order. */
  async read(distributorId: string, after: string, limit: number): Promise<DnoMessage[]> {
    // Order by the column, not the text alias: a bare `ORDER BY sequence` sorts '10' before '6'.
    const rows = (await this.dataSource.query(
      `SELECT sequence::text AS sequence, kind, payload, created_at FROM dno_outbox
        WHERE distributor_id = $1 AND sequence > $2 ORDER BY dno_outbox.sequence LIMIT $3`,
      [distributorId, after, limit],
    )) as { sequence: string; kind: DnoMessageKind; payload: DnoMessagePayload; created_at: Date }[];
    return rows.map((r) => ({
      distributorId,
      sequence: r.sequence,
      kind: r.kind,
      createdAt: r.created_at,
      payload: r.payload,
    }));
  }

  /** Records how far a DNO's consumer has processed its stream (never moves backwards). */
  async acknowledge(
    principal: Principal,
    distributorIdArg: string | null | undefined,
    upTo: string,
  ): Promise<DeliveryStatus> {
    const user = requireRole(principal, 'ED', 'OPERATOR');
    const distributorId = this.streamFor(user, distributorIdArg);
    const position = parseSequence(upTo, 'upTo');
    await this.dataSource.transaction(async (tx) => {
      const [row] = (await tx.query(
        'SELECT last_sequence::text AS last FROM dno_sequence WHERE distributor_id = $1',
        [distributorId],
      )) as { last: string }[];
      if (BigInt(position) > BigInt(row?.last ?? '0')) {
        throw new InvalidInputError(
          'BEYOND_NEWEST_SEQUENCE',
          `upTo is beyond the newest sequence (${row?.last ?? '0'})`,
          'upTo',
        );
      }
      await tx.query(
        `INSERT INTO dno_delivery_position (distributor_id, acknowledged_sequence, updated_at, updated_by)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (distributor_id) DO UPDATE SET
           acknowledged_sequence = GREATEST(dno_delivery_position.acknowledged_sequence, EXCLUDED.acknowledged_sequence),
           updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`,
        [distributorId, position, this.clock.now(), user.subject],
      );
    });
    return this.status(principal, distributorId);
  }

  async status(principal: Principal, distributorIdArg: string | null | undefined): Promise<DeliveryStatus> {
    const distributorId = this.streamFor(requireRole(principal, 'ED', 'OPERATOR'), distributorIdArg);
    const [row] = (await this.dataSource.query(
      `SELECT COALESCE(s.last_sequence, 0)::text AS newest, COALESCE(p.acknowledged_sequence, 0)::text AS acked,
              COALESCE(d.preference, 'FILTER') AS preference
         FROM (SELECT $1::char(2) AS distributor_id) x
         LEFT JOIN dno_sequence s USING (distributor_id)
         LEFT JOIN dno_delivery_position p USING (distributor_id)
         LEFT JOIN delivery_preference d USING (distributor_id)`,
      [distributorId],
    )) as { newest: string; acked: string; preference: DeliveryPreference }[];
    return {
      distributorId,
      newestSequence: row.newest,
      acknowledgedSequence: row.acked,
      lag: (BigInt(row.newest) - BigInt(row.acked)).toString(),
      preference: row.preference,
    };
  }

  /** Per-DNO lag for the metrics endpoint. */
  async lags(): Promise<{ distributorId: string; lag: number }[]> {
    const rows = (await this.dataSource.query(
      `${SCRAPE_STATEMENT}
       SELECT s.distributor_id, (s.last_sequence - COALESCE(p.acknowledged_sequence, 0))::float8 AS lag
         FROM dno_sequence s LEFT JOIN dno_delivery_position p USING (distributor_id)`,
    )) as { distributor_id: string; lag: number }[];
    return rows.map((r) => ({ distributorId: r.distributor_id, lag: r.lag }));
  }

  async setPreference(
    principal: Principal,
    distributorIdArg: string | null | undefined,
    preference: DeliveryPreference,
  ): Promise<DeliveryStatus> {
    const user = requireRole(principal, 'ED', 'OPERATOR');
    const distributorId = this.streamFor(user, distributorIdArg);
    if (!(DELIVERY_PREFERENCES as readonly string[]).includes(preference)) {
      throw new InvalidInputError(
        'INVALID_PREFERENCE',
        `preference must be one of ${DELIVERY_PREFERENCES.join(', ')}`,
        'preference',
      );
    }
    await this.dataSource.query(
      `INSERT INTO delivery_preference (distributor_id, preference, updated_at, updated_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (distributor_id) DO UPDATE SET preference = EXCLUDED.preference, updated_at = EXCLUDED.updated_at,
         updated_by = EXCLUDED.updated_by`,
      [distributorId, preference, this.clock.now(), user.subject],
    );
    return this.status(principal, distributorId);
  }

  private async preferences(
    tx: EntityManager,
    distributorIds: readonly string[],
  ): Promise<Map<string, DeliveryPreference>> {
    const rows = (await tx.query(
      'SELECT distributor_id, preference FROM delivery_preference WHERE distributor_id = ANY($1)',
      [[...distributorIds]],
    )) as { distributor_id: string; preference: DeliveryPreference }[];
    return new Map(rows.map((r) => [r.distributor_id, r.preference]));
  }

  private async acknowledgedSequence(distributorId: string): Promise<string> {
    const [row] = (await this.dataSource.query(
      'SELECT acknowledged_sequence::text AS acked FROM dno_delivery_position WHERE distributor_id = $1',
      [distributorId],
    )) as { acked: string }[];
    return row?.acked ?? '0';
  }

  /** Which DNO's stream: an ED's own (the only one, or the one named); an operator must name one. */
  private streamFor(user: User, requested: string | null | undefined): string {
    if (requested !== null && requested !== undefined && !/^[0-9]{2}$/.test(requested)) {
      throw new InvalidInputError('INVALID_DISTRIBUTOR_ID', 'distributorId is two digits', 'distributorId');
    }
    if (user.role === 'OPERATOR') {
      if (!requested)
        throw new InvalidInputError(
          'DISTRIBUTOR_REQUIRED',
          'operators must name the distributorId',
          'distributorId',
        );
      return requested;
    }
    if (requested) {
      if (!user.distributorIds.includes(requested))
        throw new ForbiddenError(`distributor ${requested} is not yours`);
      return requested;
    }
    if (user.distributorIds.length !== 1) {
      throw new InvalidInputError(
        'DISTRIBUTOR_REQUIRED',
        'your token covers several distributors: name one',
        'distributorId',
      );
    }
    return user.distributorIds[0];
  }
}

/**
 * The alert as it was when the message was written: its row's fields that the API shows, and the
 * decision the message was sent on. Null for messages written before they carried `routedBy`.
 */
export function alertAsWritten(p: DnoMessagePayload): AlertEntity | null {
  if (p.alert.routedBy === undefined) return null;
  return alertOfPayload(p);
}

/** The alert of a message's payload, with whatever fields it carries (`routedBy` may be missing). */
export function alertOfPayload(p: DnoMessagePayload): AlertEntity {
  return {
    ...p.alert,
    routedBy: p.alert.routedBy ?? null,
    naturalKey: '',
    eventAt: new Date(p.alert.eventAt),
    restoredAt: p.alert.restoredAt ? new Date(p.alert.restoredAt) : null,
    receivedAt: new Date(p.alert.receivedAt),
    throttledSequenceId: null,
    ingestedBy: '',
    inActivationWindow: false,
    outcome: p.decision.outcome,
    reason: p.decision.reasonCode,
    revision: p.decision.revision,
    dueAt: null,
  } as AlertEntity;
}

/** The states a live page's messages carry: each alert as its message was written. */
function statesAsWritten(messages: readonly DnoMessage[]): Map<string, AlertNow> {
  const states = new Map<string, AlertNow>();
  for (const message of messages) {
    const alert = alertAsWritten(message.payload);
    const known = states.get(message.payload.alert.id);
    if (alert && (!known || known.alert.revision < alert.revision)) states.set(alert.id, { alert });
  }
  return states;
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

function payloadOf(change: DecisionChange, kind: DnoMessageKind): DnoMessagePayload {
  const a: AlertEntity = change.alert;
  const isAd1 = a.kind === 'AD1';
  const ad1 = isAd1 ? (change.decision as AlertDecision) : null;
  const restore = isAd1 ? null : (change.decision as SupplyRestoredDecision);
  const e = ad1?.evidence;
  const otaInduced =
    ad1 && (kind === 'OTA_INDUCED' || change.outcome === 'SUPPRESSED' || change.outcome === 'PAIRED') && e
      ? {
          activationId: ad1.activationId,
          activationRequestId: e.activation?.requestId ?? null,
          actualExecutedAt: e.activation?.actualExecutedAt ?? null,
          manufacturer: e.esme?.manufacturer ?? e.commsHub?.manufacturer ?? null,
          model: e.esme?.model ?? e.commsHub?.model ?? null,
          firmwareBefore: e.firmware?.versionBefore ?? null,
          firmwareAfter: e.activation?.targetFirmwareVersion ?? null,
          ruleId: ad1.ruleId,
          ruleVersion: ad1.ruleVersion,
          windowFrom: iso(ad1.window?.from ?? null),
          windowTo: iso(ad1.window?.to ?? null),
        }
      : null;
  return {
    alert: {
      id: a.id,
      kind: a.kind,
      alertCode: a.alertCode,
      deviceGuid: a.deviceGuid,
      mpan: a.mpan,
      mpanCheckDigitValid: a.mpanCheckDigitValid,
      distributorId: a.distributorId,
      unroutedReason: a.unroutedReason,
      areaKey: a.areaKey,
      eventAt: a.eventAt.toISOString(),
      restoredAt: iso(a.restoredAt),
      throttledCount: a.throttledCount,
      duisResponseId: a.duisResponseId,
      receivedAt: a.receivedAt.toISOString(),
      pairedAlertId: restore?.pairedAlertId ?? a.pairedAlertId,
      routedBy: a.routedBy,
    },
    decision: {
      revision: change.revision,
      outcome: change.outcome,
      reasonCode: change.reason,
      late: change.late,
      decidedAt: (ad1?.decidedAt ?? restore!.decidedAt).toISOString(),
    },
    pairedAlertId: kind === 'OTA_INDUCED' ? a.id : (restore?.pairedAlertId ?? null),
    otaInduced,
  };
}

/**
 * The event for `buffer[index]`: its alerts' states from the DNO's shared cache. When one is too
 * old, the states of the rest of the buffer are read again at once, in one batch: a subscriber
 * working through a backlog costs one read per page, not one per message.
 */
async function eventOf(
  current: CurrentAlerts,
  buffer: readonly DnoMessage[],
  index: number,
): Promise<DnoEvent> {
  const message = buffer[index];
  const ids = alertIdsOf(message);
  if (ids.some((id) => current.peek(id) === undefined)) {
    try {
      await current.get(buffer.slice(index).flatMap(alertIdsOf));
    } catch {
      // The database is out of reach: the message itself still says everything the DNO must
      // know, so it goes out as it was written rather than as an error it cannot acknowledge.
      return { message, sharedBy: message, sharedKey: 'as-written' };
    }
  }
  const now = new Map<string, AlertNow | null>();
  const serials: number[] = [];
  for (const id of ids) {
    const state = current.peek(id);
    const serial = current.serialOf(id);
    // Read, but already changed again on this instance: shown as read, shared with nobody.
    if (state === undefined || serial === undefined)
      return { message, now: await current.get(ids), ...UNSHARED() };
    now.set(id, state);
    serials.push(serial);
  }
  return { message, now, sharedBy: message, sharedKey: serials.join(',') };
}

let unshared = 0;
/** An event nobody else gets: its own key. */
const UNSHARED = () => ({ sharedBy: {}, sharedKey: `unshared-${++unshared}` });

/**
 * The DNO feeds of this instance: one per DNO with subscribers here, woken by the DNO's topic and
 * at least every SAFETY_POLL_MS, dropped with its last subscriber.
 */
class OutboxFeeds {
  private readonly feeds = new Map<
    string,
    { feed: DnoOutboxFeed; current: CurrentAlerts; users: number; stop: () => void }
  >();

  constructor(
    private readonly pubSub: AppPubSub,
    private readonly read: (
      distributorId: string,
      after: string,
      limit: number,
    ) => Promise<{ messages: DnoMessage[]; alerts: Map<string, AlertNow | null> }>,
    private readonly readMessages: (
      distributorId: string,
      after: string,
      limit: number,
    ) => Promise<DnoMessage[]>,
    private readonly readAlertsNow: ReadAlertsNow,
  ) {}

  acquire(distributorId: string): { feed: DnoOutboxFeed; current: CurrentAlerts } {
    const entry = this.feeds.get(distributorId);
    if (entry) {
      entry.users++;
      return entry;
    }
    const current = new CurrentAlerts(this.readAlertsNow, {
      freshMs: ALERT_STATE_FRESH_MS,
      capacity: 2 * FEED_WINDOW,
      now: () => performance.now(),
    });
    // Each page read from the outbox brings its alerts' states: a live page as its messages were
    // written (each is its alert's latest decision, unless a newer one is known), a replayed page
    // read with the rows in the same statement. None are read per subscriber.
    const feed = new DnoOutboxFeed(
      async (after, limit, kind) => {
        const readAt = performance.now();
        if (kind === 'tail') {
          const messages = await this.readMessages(distributorId, after, limit);
          current.put(statesAsWritten(messages), readAt);
          return messages;
        }
        const { messages, alerts } = await this.read(distributorId, after, limit);
        current.put(alerts, readAt);
        return messages;
      },
      { page: REPLAY_PAGE, windowSize: FEED_WINDOW },
    );
    const wakeups = this.pubSub.subscribe('DNO_OUTBOX', distributorId)[Symbol.asyncIterator]();
    void (async () => {
      for (;;) {
        const event = await wakeups.next();
        if (event.done) return;
        feed.wake(event.value.sequence);
      }
    })();
    const poll = setInterval(() => feed.wake(), SAFETY_POLL_MS);
    poll.unref();
    const created = {
      feed,
      current,
      users: 1,
      stop: () => {
        clearInterval(poll);
        feed.close();
        void wakeups.return?.();
      },
    };
    this.feeds.set(distributorId, created);
    return created;
  }

  /** Wakes this instance's feed of a DNO, if it has one: its outbox has grown up to `sequence`. */
  wake(distributorId: string, sequence: string): void {
    this.feeds.get(distributorId)?.feed.wake(sequence);
  }

  /** These alerts have new revisions: their DNOs' caches no longer hand out older states. */
  forget(
    changes: readonly {
      readonly alert: { readonly id: string; readonly distributorId: string | null };
      readonly revision: number;
    }[],
  ): void {
    for (const { alert, revision } of changes) {
      if (alert.distributorId) this.feeds.get(alert.distributorId)?.current.forget(alert.id, revision);
    }
  }

  release(distributorId: string): void {
    const entry = this.feeds.get(distributorId);
    if (!entry || --entry.users > 0) return;
    this.feeds.delete(distributorId);
    entry.stop();
  }
}
