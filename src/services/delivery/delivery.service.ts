import type { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal';
import type { Clock } from '../../clock';
import { ForbiddenError, InvalidInputError } from '../../domain/errors';
import { DELIVERY_PREFERENCES } from '../../domain/model';
import type { DeliveryPreference } from '../../domain/model';
import { SCRAPE_STATEMENT } from '../../db/data-source';
import type { AppPubSub } from '../../realtime/pubsub';
import { requireRole } from '../shared/access';
import type { User } from '../shared/access';
import type { DecisionChange } from '../shared/decision-change';
import { countBy, silentObserver } from '../shared/observer';
import type { ServiceObserver } from '../shared/observer';
import { parseSequence } from '../shared/pagination';
import type { ReadAlertsNow } from './current-alerts';
import { DnoStreams } from './dno-streams';
import type { DeliveryStatus, DnoEvent, DnoMessage, Enqueued } from './messages';
import { OutboxWriter } from './outbox-writer';

export { NOTHING_ENQUEUED, alertAsWritten, alertOfPayload } from './messages';
export type { DeliveryStatus, DnoEvent, DnoMessage, DnoMessagePayload, Enqueued } from './messages';

/**
 * Delivery to network operators through a durable per-DNO outbox. Messages are written in the
 * transaction of the decision that caused them (OutboxWriter); sequence numbers are allocated
 * under the DNO's row lock as the transaction's last step, so they commit in order. Subscribers
 * replay from the outbox and are woken (never fed) by pub/sub, so a lost notification loses
 * nothing (DnoStreams). This is the use case's door: access rules, cursors, acknowledgements,
 * preferences.
 */
export class DeliveryService {
  private readonly writer: OutboxWriter;
  private readonly streams: DnoStreams;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly pubSub: AppPubSub,
    readAlertsNow: ReadAlertsNow,
    private readonly observer: ServiceObserver = silentObserver,
  ) {
    this.writer = new OutboxWriter(clock);
    this.streams = new DnoStreams(dataSource, pubSub, readAlertsNow, observer);
  }

  /**
   * Ends a decision transaction: its changes' safety-budget counts and DNO messages, in one
   * statement (OutboxWriter.enqueue). Call once per transaction, last, with every change it made.
   */
  enqueue(tx: EntityManager, changes: readonly DecisionChange[]): Promise<Enqueued> {
    return this.writer.enqueue(tx, changes);
  }

  /**
   * After commit: wakes the subscribers of each DNO that got messages, and makes this instance's
   * streams read the changed alerts afresh (a change that sends no message, such as HELD to
   * SUPPRESSED in FILTER, must not leave an older state to be shown; other instances' streams
   * read it again within ALERT_STATE_FRESH_MS).
   */
  published(enqueued: Enqueued): void {
    this.streams.forget(enqueued.changes);
    for (const [distributorId, sequence] of enqueued.sequences) {
      // This instance's feed at once; the others (and this one again, a no-op) through pub/sub,
      // whose round trip through PostgreSQL took 35 ms at the median on a busy event loop.
      this.streams.wake(distributorId, sequence);
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
    const cursor =
      after === null || after === undefined
        ? await this.acknowledgedSequence(distributorId)
        : parseSequence(after, 'after');
    return this.streams.open(distributorId, cursor);
  }

  /** Outbox messages of a DNO after a sequence, in order (the simulator's replay reads them). */
  read(distributorId: string, after: string, limit: number): Promise<DnoMessage[]> {
    return this.streams.read(distributorId, after, limit);
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
    const [status] = await this.readStatuses([distributorId]);
    return status;
  }

  /**
   * Every DNO's stream that has a message, an acknowledgement or a preference, in distributor
   * order. Role: OPERATOR (a DNO reads only its own, through status).
   */
  async statuses(principal: Principal): Promise<DeliveryStatus[]> {
    requireRole(principal, 'OPERATOR');
    return this.readStatuses(null);
  }

  /** Per-DNO lag and last acknowledgement for the metrics endpoint. */
  async lags(): Promise<{ distributorId: string; lag: number; acknowledgedAt: Date | null }[]> {
    const rows = (await this.dataSource.query(
      `${SCRAPE_STATEMENT}
       SELECT s.distributor_id, (s.last_sequence - COALESCE(p.acknowledged_sequence, 0))::float8 AS lag,
              p.updated_at AS acked_at
         FROM dno_sequence s LEFT JOIN dno_delivery_position p USING (distributor_id)`,
    )) as { distributor_id: string; lag: number; acked_at: Date | string | null }[];
    return rows.map((r) => ({
      distributorId: r.distributor_id,
      lag: r.lag,
      acknowledgedAt: r.acked_at === null ? null : new Date(r.acked_at),
    }));
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

  /**
   * The streams of these DNOs (each one, whether it has a row anywhere or not), or of every DNO
   * that has a row in one of the three tables when `ids` is null.
   */
  private async readStatuses(ids: readonly string[] | null): Promise<DeliveryStatus[]> {
    const which =
      ids === null
        ? `SELECT distributor_id FROM dno_sequence UNION SELECT distributor_id FROM dno_delivery_position
           UNION SELECT distributor_id FROM delivery_preference`
        : 'SELECT unnest($1::char(2)[]) AS distributor_id';
    const rows = (await this.dataSource.query(
      `SELECT x.distributor_id, COALESCE(s.last_sequence, 0)::text AS newest,
              COALESCE(p.acknowledged_sequence, 0)::text AS acked, p.updated_at AS acked_at,
              COALESCE(d.preference, 'FILTER') AS preference
         FROM (${which}) x
         LEFT JOIN dno_sequence s USING (distributor_id)
         LEFT JOIN dno_delivery_position p USING (distributor_id)
         LEFT JOIN delivery_preference d USING (distributor_id)
        ORDER BY x.distributor_id`,
      ids === null ? [] : [ids],
    )) as {
      distributor_id: string;
      newest: string;
      acked: string;
      acked_at: Date | string | null;
      preference: DeliveryPreference;
    }[];
    const now = this.clock.now().getTime();
    return rows.map((row) => {
      const acknowledgedAt = row.acked_at === null ? null : new Date(row.acked_at);
      return {
        distributorId: row.distributor_id,
        newestSequence: row.newest,
        acknowledgedSequence: row.acked,
        lag: (BigInt(row.newest) - BigInt(row.acked)).toString(),
        preference: row.preference,
        acknowledgedAt,
        secondsSinceAcknowledgement:
          acknowledgedAt === null ? null : Math.max(0, (now - acknowledgedAt.getTime()) / 1000),
      };
    });
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
