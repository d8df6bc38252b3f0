import { parentFor, startSpan, tracingOn, under } from '../../tracing';
import type { Attributes, Context } from '../../tracing';
import type { DecisionChange } from './decision-change';

/**
 * One span per decision change (`poa.alert.decide`), in the trace of its alert (the request that
 * brought it in: `alert.trace_parent`), whatever ran the decision: the ingest, a timer pass, the
 * meter's answer. Made as the transaction hands its changes to the outbox, so it covers every
 * path that decides; a span ends at once (the engine decides a batch together, not one by one).
 * Returns where each change's DNO messages go on from; null with tracing off.
 */
export function traceDecisions(
  changes: readonly DecisionChange[],
): Map<DecisionChange, { context: Context }> | null {
  if (!tracingOn()) return null;
  const traced = new Map<DecisionChange, { context: Context }>();
  for (const change of changes) {
    const span = startSpan(
      'poa.alert.decide',
      decisionAttributes(change),
      parentFor(change.alert.traceParent),
    );
    span.end();
    traced.set(change, under(span));
  }
  return traced;
}

/** What a decision span says: the alert, the outcome and reason, what made it, its DNO. */
function decisionAttributes(change: DecisionChange): Attributes {
  const a = change.alert;
  return {
    'poa.alert.id': a.id,
    'poa.alert.kind': a.kind,
    'poa.decision.revision': change.revision,
    'poa.decision.outcome': change.outcome,
    'poa.decision.reason': change.reason,
    'poa.decision.late': change.late,
    ...(change.previousOutcome ? { 'poa.decision.previous_outcome': change.previousOutcome } : {}),
    ...(change.trigger ? { 'poa.decision.trigger': change.trigger } : {}),
    ...(change.dueAt ? { 'poa.decision.due_at': change.dueAt.toISOString() } : {}),
    ...(a.distributorId ? { 'poa.dno.distributor_id': a.distributorId } : {}),
  };
}
