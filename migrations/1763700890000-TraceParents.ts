import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where an AD1's trace goes on from (docs/OPERATIONS.md, "Tracing"): the W3C `traceparent` of
 * the request that brought the alert in, and of the span that created a verification request.
 * Later work on them (the hold timer, the meter's answer, the DNO message) is traced under these,
 * minutes later and on any instance. NULL when tracing was off. Nullable and without a default,
 * so adding them rewrites no partition; no index: they are only read with their row.
 */
export class TraceParents1763700890000 implements MigrationInterface {
  name = 'TraceParents1763700890000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE alert ADD COLUMN trace_parent text`);
    await q.query(`ALTER TABLE verification_request ADD COLUMN trace_parent text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE verification_request DROP COLUMN trace_parent');
    await q.query('ALTER TABLE alert DROP COLUMN trace_parent');
  }
}
