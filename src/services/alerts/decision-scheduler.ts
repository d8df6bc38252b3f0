import type { DataSource } from 'typeorm';
import type { Clock } from '../../clock';
import { returnedRows } from '../../db/rows';
import type { Logger } from '../../logger';
import type { DecisionService } from './decision.service';
import { NOTHING_ENQUEUED } from '../delivery/delivery.service';
import type { DeliveryService } from '../delivery/delivery.service';

export interface SchedulerSettings {
  /** How often to look for due alerts when nothing wakes the loop. */
  readonly pollMs: number;
  /** Alerts decided per transaction. */
  readonly batchSize: number;
}

/**
 * Works the durable timers: alerts whose `due_at` has come are claimed with FOR UPDATE SKIP
 * LOCKED, decided again and committed, a batch per transaction. Because the timers live in the
 * database, a restart in the middle of a hold still decides on time, and several instances
 * share the work without deciding one alert twice.
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
    this.running = this.loop().finally(() => {
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
    } catch (error) {
      this.log.error({ err: error }, 'decision scheduler pass failed; retrying on the next tick');
    }
  }

  /** One batch: decides the alerts that are due now. Returns how many were claimed. */
  async runDue(): Promise<number> {
    const now = this.clock.now();
    const { claimed, enqueued } = await this.dataSource.transaction(async (tx) => {
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
      if (due.length === 0) return { claimed: 0, enqueued: NOTHING_ENQUEUED };
      const ad1s = due.filter((d) => d.kind === 'AD1').map((d) => d.id);
      const changes = await this.decisions.evaluateOutageAlerts(tx, ad1s, now, 'TIMER');
      // A held restore follows its AD1; one whose AD1 no longer holds it is re-decided here.
      const restores = due.filter((d) => d.kind === 'SUPPLY_RESTORED').map((d) => d.id);
      if (restores.length)
        changes.push(...(await this.decisions.redecideRestores(tx, restores, now, 'TIMER')));
      // The engine never returns HELD at or after the due time; should a timer still be due, it
      // is cleared (and logged) rather than spun on forever.
      const stuckIds = returnedRows<{ id: string }>(
        await tx.query(
          `UPDATE alert SET due_at = NULL WHERE id = ANY($1::bigint[]) AND due_at <= $2 RETURNING id::text AS id`,
          [due.map((d) => d.id), now],
        ),
      ).map((r) => r.id);
      if (stuckIds.length)
        this.log.error({ alertIds: stuckIds }, 'alerts were still due after evaluation; timers cleared');
      return { claimed: due.length, enqueued: await this.delivery.enqueue(tx, changes) };
    });
    this.delivery.published(enqueued);
    return claimed;
  }
}
