/**
 * The decision ledger: each decision change becomes a ledger row, written together with the alert
 * row's move to the state and timer it records.
 */
import type { EntityManager } from 'typeorm';
import { nextEvaluationAt } from '../../domain/engine';
import type { AlertDecision } from '../../domain/engine';
import type { DecisionOutcome } from '../../domain/model';
import type { AlertEntity } from '../../entities';
import type { DecisionChange, DecisionTrigger } from '../shared/decision-change';

/** One ledger entry, with the alert state it moves the alert to. */
export interface LedgerRow {
  alertId: string;
  /** The alert's event time: the ledger is partitioned with its alert. */
  alertEventAt: Date;
  revision: number;
  outcome: DecisionOutcome;
  reason: string;
  late: boolean;
  ruleId: string | null;
  ruleVersion: number | null;
  activationId: string | null;
  windowFrom: Date | null;
  windowTo: Date | null;
  dueAt: Date | null;
  decidedAt: Date;
  trigger: DecisionTrigger;
  decision: unknown;
  inActivationWindow: boolean;
}

/**
 * Appends ledger rows and moves each alert's current state and timer on, in one statement (the
 * ledger INSERT runs as a CTE of the UPDATE). The event time joins too, so each row's update
 * looks in one monthly partition instead of probing every partition's key index; it is matched
 * to the millisecond the entity carries (a Date), whatever precision the column holds.
 */
export async function appendDecisions(tx: EntityManager, rows: readonly LedgerRow[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <K extends keyof LedgerRow>(k: K) => rows.map((r) => r[k]);
  const result: unknown = await tx.query(
    `WITH ledger AS (
       INSERT INTO alert_decision (alert_id, revision, outcome, reason, late, rule_id, rule_version, activation_id,
                                   window_from, window_to, due_at, decided_at, trigger, decision, alert_event_at)
       SELECT a, r, o, re, l, ru, rv, ac, wf, wt, du, de, tr, $14::jsonb -> (n - 1)::int, ev
         FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::boolean[], $6::uuid[], $7::int[],
                     $8::uuid[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[],
                     $13::text[], $15::timestamptz[])
              WITH ORDINALITY AS d(a, r, o, re, l, ru, rv, ac, wf, wt, du, de, tr, ev, n)
     )
     UPDATE alert SET outcome = u.outcome, reason = u.reason, revision = u.revision, due_at = u.due_at,
                      in_activation_window = u.in_window
       FROM unnest($1::bigint[], $15::timestamptz[], $3::text[], $4::text[], $2::int[], $11::timestamptz[],
                   $16::boolean[]) AS u(id, event_at, outcome, reason, revision, due_at, in_window)
      WHERE alert.id = u.id AND alert.event_at >= u.event_at AND alert.event_at < u.event_at + interval '1 ms'`,
    [
      col('alertId'),
      col('revision'),
      col('outcome'),
      col('reason'),
      col('late'),
      col('ruleId'),
      col('ruleVersion'),
      col('activationId'),
      col('windowFrom'),
      col('windowTo'),
      col('dueAt'),
      col('decidedAt'),
      col('trigger'),
      // One JSON array rather than a jsonb[]: an array parameter escapes every quote of every
      // decision into an array literal (in JS, 4% of a batch's server time), and PostgreSQL
      // undoes it; `-> i` takes each element back out.
      JSON.stringify(rows.map((r) => r.decision)),
      col('alertEventAt'),
      col('inActivationWindow'),
    ],
  );
  // A ledger row whose alert row did not move would leave the alert's state and timer behind
  // its ledger: refuse the whole transaction rather than commit that.
  const updated = Array.isArray(result) && typeof result[1] === 'number' ? result[1] : rows.length;
  if (updated !== rows.length) {
    throw new Error(`decision append: ${updated} alert rows updated for ${rows.length} ledger rows`);
  }
}

/** A new decision of an alert: its ledger row (with the alert's next state) and the change it makes. */
export function changeOf(
  alert: AlertEntity,
  next: AlertDecision,
  inWindow: boolean,
  trigger: DecisionTrigger,
  now: Date,
  preference: DecisionChange['preference'],
): { row: LedgerRow; change: DecisionChange } {
  const revision = alert.revision + 1;
  const dueAt = nextEvaluationAt(next);
  return {
    row: {
      alertId: alert.id,
      alertEventAt: alert.eventAt,
      revision,
      outcome: next.outcome,
      reason: next.reason,
      late: next.late,
      ruleId: next.ruleId,
      ruleVersion: next.ruleVersion,
      activationId: next.activationId,
      windowFrom: next.window?.from ?? null,
      windowTo: next.window?.to ?? null,
      dueAt,
      decidedAt: now,
      trigger,
      decision: next,
      inActivationWindow: inWindow,
    },
    change: {
      alert,
      revision,
      previousOutcome: alert.outcome,
      outcome: next.outcome,
      reason: next.reason,
      late: next.late,
      decision: next,
      dueAt,
      preference,
      trigger,
    },
  };
}
