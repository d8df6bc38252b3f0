import type { DataSource, EntityManager } from 'typeorm';
import type { Clock } from '../../clock';
import { returnedRows } from '../../db/rows';
import type { Logger } from '../../logger';
import type { DecisionService } from './decision.service';
import { NOTHING_ENQUEUED } from '../delivery/delivery.service';
import type { DeliveryService, Enqueued } from '../delivery/delivery.service';
import type { DecisionChange } from '../shared/decision-change';
import { silentObserver } from '../shared/observer';
import type { ServiceObserver } from '../shared/observer';
import { detached } from '../../tracing';

const MINUTE_MS = 60_000;

export interface SchedulerSettings {
  /** How often to look for due alerts when nothing wakes the loop. */
  readonly pollMs: number;
  /** Alerts decided per transaction. */
  readonly batchSize: number;
  /** The hold ceiling, minutes after receipt (HOLD_MINUTES): where the sweep looks. */
  readonly holdMinutes: number;
}

/**
 * AD1s HELD without a live timer, oldest first: those with none at all, and those past the hold
 * ceiling whose timer lies later still. Neither should exist (the engine holds only until a time
 * after `now` and no later than the ceiling); each arm reads a partial index of its own that is
 * empty while that holds (migration HeldSweepIndex). An AD1 whose timer has come is the timer's.
 */
const STRANDED_SQL = `WITH untimed AS (
    SELECT id, received_at FROM alert WHERE kind = 'AD1' AND outcome = 'HELD' AND due_at IS NULL
     ORDER BY received_at, id LIMIT $3 FOR UPDATE SKIP LOCKED
  ), overdue AS (
    SELECT id, received_at FROM alert WHERE kind = 'AD1' AND outcome = 'HELD' AND received_at <= $1 AND due_at > $2
     ORDER BY received_at, id LIMIT $3 FOR UPDATE SKIP LOCKED
  )
  SELECT id::text AS id FROM (SELECT * FROM untimed UNION SELECT * FROM overdue) s ORDER BY received_at, id LIMIT $3`;

/**
 * Works the durable timers: alerts whose `due_at` has come are claimed with FOR UPDATE SKIP
 * LOCKED, decided again and committed, a batch per transaction. Because the timers live in the
 * database, a restart in the middle of a hold still decides on time, and several instances
 * share the work without deciding one alert twice. Behind the timers, a sweep makes sure no AD1
 * stays HELD past its hold ceiling, whatever happened to its timer (docs/ENGINE.md, "Liveness").
 */
export class DecisionScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private again = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly decisions: DecisionService,
    private readonly delivery: DeliveryService,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly settings: SchedulerSettings,
    private readonly observer: ServiceObserver = silentObserver,
  ) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Runs a pass soon (after ingest made something due, or on the poll tick). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    // Each pass is traced under the AD1s it decides (their stored trace), never under its caller.
    this.running = detached(() => this.loop()).finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.wake();
        return;
      }
      this.timer = setTimeout(() => this.wake(), this.settings.pollMs);
      this.timer.unref();
    });
  }

  /** Stops after the batch in hand; held timers stay in the database for the next instance. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async loop(): Promise<void> {
    try {
      // Keep going while batches come back full: a backlog after downtime drains at once.
      while (!this.stopped && (await this.runDue()) === this.settings.batchSize) {
        /* next batch */
      }
      while (!this.stopped && (await this.sweepHeld()) === this.settings.batchSize) {
        /* next batch */
      }
    } catch (error) {
      this.log.error({ err: error }, 'decision scheduler pass failed; retrying on the next tick');
    }
  }

  /** One batch: decides the alerts that are due now. Returns how many were claimed. */
  async runDue(): Promise<number> {
    const now = this.clock.now();
    const { claimed, enqueued, released } = await this.dataSource.transaction(async (tx) => {
      const due = (await tx.query(
        `SELECT id::text AS id, kind FROM alert WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [now, this.settings.batchSize],
      )) as { id: string; kind: 'AD1' | 'SUPPLY_RESTORED' }[];
      // Verification requests past their timeout are over: close them so the stream and the
      // operator see it (the engine already treats them so).
      await tx.query(
        `UPDATE verification_request SET status = 'TIMED_OUT' WHERE status = 'PENDING' AND timeout_at <= $1`,
        [now],
      );
      if (due.length === 0) return { claimed: 0, enqueued: NOTHING_ENQUEUED, released: [] };
      const ad1s = due.filter((d) => d.kind === 'AD1').map((d) => d.id);
      const changes = await this.decisions.evaluateOutageAlerts(tx, ad1s, now, 'TIMER');
      // A held restore follows its AD1; one whose AD1 no longer holds it is re-decided here.
      const restores = due.filter((d) => d.kind === 'SUPPLY_RESTORED').map((d) => d.id);
      if (restores.length)
        changes.push(...(await this.decisions.redecideRestores(tx, restores, now, 'TIMER')));
      // The engine never returns HELD at or after the due time; should a timer still be due, it
      // is cleared (and logged) rather than spun on forever, and an AD1 it held is released.
      const stuckIds = returnedRows<{ id: string }>(
        await tx.query(
          `UPDATE alert SET due_at = NULL WHERE id = ANY($1::bigint[]) AND due_at <= $2 RETURNING id::text AS id`,
          [due.map((d) => d.id), now],
        ),
      ).map((r) => r.id);
      if (stuckIds.length)
        this.log.error({ alertIds: stuckIds }, 'alerts were still due after evaluation; timers cleared');
      const released = await this.enforce(tx, stuckIds, now, changes);
      return { claimed: due.length, enqueued: await this.delivery.enqueue(tx, changes), released };
    });
    this.committed(enqueued, released);
    return claimed;
  }

  /**
   * One batch of the sweep behind the timers: AD1s HELD without a live timer (STRANDED_SQL) are
   * decided again with `now`, and any the engine still holds against the liveness guarantee is
   * released (HOLD_CEILING_ENFORCED). Returns how many it found: none, unless something is wrong.
   */
  async sweepHeld(): Promise<number> {
    const now = this.clock.now();
    const ceilingCutoff = new Date(now.getTime() - this.settings.holdMinutes * MINUTE_MS);
    const { found, enqueued, released } = await this.dataSource.transaction(async (tx) => {
      const ids = (
        (await tx.query(STRANDED_SQL, [ceilingCutoff, now, this.settings.batchSize])) as { id: string }[]
      ).map((r) => r.id);
      if (ids.length === 0) return { found: 0, enqueued: NOTHING_ENQUEUED, released: [] };
      this.log.error({ alertIds: ids }, 'held alerts without a live timer; deciding them again');
      const changes = await this.decisions.evaluateOutageAlerts(tx, ids, now, 'TIMER');
      const released = await this.enforce(tx, ids, now, changes);
      return { found: ids.length, enqueued: await this.delivery.enqueue(tx, changes), released };
    });
    this.committed(enqueued, released);
    return found;
  }

  /**
   * AD1s just decided with `now` that are still HELD against the guarantee: released, their
   * changes added to `changes`. Returns their IDs.
   */
  private async enforce(
    tx: EntityManager,
    alertIds: readonly string[],
    now: Date,
    changes: DecisionChange[],
  ): Promise<string[]> {
    if (alertIds.length === 0) return [];
    const enforced = await this.decisions.enforceHoldCeilings(tx, alertIds, now, 'TIMER');
    changes.push(...enforced.changes);
    if (enforced.rearmed.length)
      this.log.error({ alertIds: enforced.rearmed }, 'held alerts had no timer; timers set again');
    return enforced.released;
  }

  /** After commit: the DNO streams, and the count (and log) of holds released by force. */
  private committed(enqueued: Enqueued, released: readonly string[]): void {
    this.delivery.published(enqueued);
    if (released.length === 0) return;
    this.observer.heldPastCeiling(released.length);
    this.log.error(
      { alertIds: released },
      'alerts still held past their hold ceiling were released (HOLD_CEILING_ENFORCED)',
    );
  }
}
