import type { DataSource } from 'typeorm';
import type { DnoMessageKind } from '../../domain/delivery';
import { AlertEntity } from '../../entities';
import { preparedQuery } from '../../db/prepared';
import { asPatientReader } from '../../db/statement-budget';
import type { AppPubSub } from '../../realtime/pubsub';
import type { ServiceObserver } from '../shared/observer';
import { CurrentAlerts, alertIdsOf, pairedIdOf } from './current-alerts';
import type { AlertNow, ReadAlertsNow } from './current-alerts';
import { alertAsWritten } from './messages';
import type { DnoEvent, DnoMessage, DnoMessagePayload } from './messages';
import { DnoOutboxFeed } from './outbox-feed';

const REPLAY_PAGE = 500;
/** Messages a DNO's feed keeps for its subscribers on this instance (the newest). */
const FEED_WINDOW = 2_000;
/** Feeds re-read the outbox at least this often, so a lost wake-up delays, never loses. */
const SAFETY_POLL_MS = 5_000;
/**
 * Events the subscribers catching up on this instance are handed in one turn of the event loop,
 * together. Each subscriber used to yield after 32 of its own: a thousand subscribers replaying a
 * backlog then sent 32,000 events between two polls of I/O, and an ingest, which needs a few
 * turns, waited seconds for them (7.4 s for the first, at 1,000 subscribers). Counted for all,
 * I/O is polled every EVENTS_PER_TURN replayed events however many subscribers replay; a replay
 * takes longer instead. Only replays are paced: a subscriber that has reached the head once (its
 * feed had nothing more for it) is live, and pacing live messages too put the steady e2e p99 at
 * 805 ms and a storm's at 3.9 s (docs/BENCHMARKS.md).
 */
const EVENTS_PER_TURN = 8;
let handedThisTurn = 0;
let turnEnds = false;

/** Waits, if need be, for a turn of the event loop with room for one more event. */
async function roomInTurn(): Promise<void> {
  for (;;) {
    if (!turnEnds) {
      turnEnds = true;
      setImmediate(() => {
        handedThisTurn = 0;
        turnEnds = false;
      });
    }
    if (handedThisTurn < EVENTS_PER_TURN) {
      handedThisTurn++;
      return;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}
/**
 * How old an alert's state read for a stream may be when its event goes out, unless this instance
 * changed the alert since (CurrentAlerts): how long a change made on another instance may go
 * unseen by a replay here. Shorter made subscribers working through a storm's backlog read their
 * pages' states again and again, and fall further behind for it.
 */
const ALERT_STATE_FRESH_MS = 10_000;

/**
 * The DNO streams of this instance: each subscription an iterator over its DNO's outbox, from
 * its cursor, woken (never fed) by pub/sub. The DNO's subscribers here share one reader of its
 * outbox (DnoOutboxFeed) and one cache of the alerts it shows (CurrentAlerts); each keeps its own
 * cursor.
 */
export class DnoStreams {
  private readonly feeds: OutboxFeeds;
  private columns?: readonly { databaseName: string; propertyName: string }[];

  constructor(
    private readonly dataSource: DataSource,
    pubSub: AppPubSub,
    readAlertsNow: ReadAlertsNow,
    private readonly observer: ServiceObserver,
  ) {
    // A subscriber's own reads (a replay from further back than the shared window, and the
    // alert states its pages need again) are readers of the pool, within their share of it: a
    // thousand subscribers catching up at once cannot take the connections ingest needs. The
    // shared tail read, one per wake-up whatever the number of subscribers, is not.
    this.feeds = new OutboxFeeds(
      pubSub,
      (distributorId, after, limit) =>
        asPatientReader(() => this.readWithAlerts(distributorId, after, limit)),
      (distributorId, after, limit) => this.read(distributorId, after, limit),
      (ids) => asPatientReader(() => readAlertsNow(ids)),
    );
  }

  /** A stream of a DNO's messages after `cursor`, then live (access already checked). */
  open(distributorId: string, after: string): AsyncIterable<DnoEvent> {
    let cursor = after;
    // The feed listens before its first read: a message committed between a read and the wait
    // still wakes it.
    const { feed, current } = this.feeds.acquire(distributorId);
    this.observer.subscribers(distributorId, 1);
    let buffer: readonly DnoMessage[] = [];
    let next = 0;
    let sleeping: { cancel(): void } | null = null;
    let closed = false;
    // Catching up until the feed first has nothing more for this subscriber; live from then on.
    let live = false;
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
            if (!live) {
              await roomInTurn();
              if (closed) break;
            }
            return { value: withDelivery(await eventOf(current, buffer, next++)), done: false };
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
          live = true;
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

  /** Wakes this instance's feed of a DNO, if it has one: its outbox has grown up to `sequence`. */
  wake(distributorId: string, sequence: string): void {
    this.feeds.wake(distributorId, sequence);
  }

  /** These alerts have new revisions: their DNOs' caches no longer hand out older states. */
  forget(
    changes: readonly {
      readonly alert: { readonly id: string; readonly distributorId: string | null };
      readonly revision: number;
    }[],
  ): void {
    this.feeds.forget(changes);
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

/**
 * The event with what its delivery span needs (src/realtime/shared-events.ts), when its message
 * was written with a trace: each subscriber's delivery is a `poa.dno.deliver` span under the
 * message's `poa.dno.publish`, and hands its own traceparent to the consumer.
 */
function withDelivery(event: DnoEvent): DnoEvent {
  const { message } = event;
  const traceParent = message.payload.traceParent;
  if (!traceParent) return event;
  const attributes = {
    'poa.dno.distributor_id': message.distributorId,
    'poa.dno.sequence': message.sequence,
    'poa.dno.message_kind': message.kind,
    'poa.alert.id': message.payload.alert.id,
  };
  return { ...event, delivery: { traceParent, spanName: 'poa.dno.deliver', attributes } };
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
