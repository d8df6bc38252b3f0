import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The scheduler's sweep for AD1s HELD without a live timer (DecisionScheduler.sweepHeld), every
 * poll: those with no timer, and those past the hold ceiling whose timer lies later still. Both
 * indexes hold only HELD AD1s, a few among all alerts (the hold queue), and the first only those
 * with no timer, none while the service works: each arm of the sweep reads nothing when there is
 * nothing to find. Without them it read every partition's alerts. Partial, so writes of the
 * alerts that are never held (most of them) do not touch them.
 */
export class HeldSweepIndex1763700870000 implements MigrationInterface {
  name = 'HeldSweepIndex1763700870000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX alert_held_untimed_idx ON alert (received_at, id)
        WHERE kind = 'AD1' AND outcome = 'HELD' AND due_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX alert_held_received_idx ON alert (received_at, id) WHERE kind = 'AD1' AND outcome = 'HELD'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX alert_held_received_idx');
    await q.query('DROP INDEX alert_held_untimed_idx');
  }
}
