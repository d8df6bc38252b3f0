/**
 * Supply-restored alerts (0x8F35-0x8F3C) follow the AD1 they pair with, so a DNO never receives
 * a restoration for an outage it never saw, and always receives one for an outage it did see.
 * A restore with no AD1 to pair with (AD1s do get lost) is delivered at once.
 */
import type { DecisionOutcome } from '../model';
import { associationsAt } from './candidate';
import type { AlertDecision, DecisionReason } from './decision';
import { isWithheld } from './decision';
import { restoreOverlapsOutage } from './evidence';
import type { CommsHubAssociationFact, PowerOutageAlertFact, SupplyRestoredAlertFact } from './facts';
import type { EngineSettings } from './settings';
import { compareText, sameCode } from './time';

/** Stable reason codes of a restore decision. */
export const RESTORE_DECISION_REASONS = [
  /** No AD1 pairs with it (lost, not yet arrived, or none): delivered on its own. */
  'NO_PAIRED_OUTAGE_ALERT',
  /** It pairs with an AD1 that has no decision yet: delivered, never withheld on missing data. */
  'OUTAGE_ALERT_UNDECIDED',
  /** It takes the treatment of the AD1 it pairs with. */
  'FOLLOWS_OUTAGE_ALERT',
] as const;
/** One of {@link RESTORE_DECISION_REASONS}. */
export type RestoreDecisionReason = (typeof RESTORE_DECISION_REASONS)[number];

/** The decision on one supply-restored alert. */
export interface SupplyRestoredDecision {
  readonly restoreAlertId: string;
  /** The AD1 it pairs with, if any. */
  readonly pairedAlertId: string | null;
  readonly outcome: DecisionOutcome;
  readonly reason: RestoreDecisionReason;
  /** The paired AD1's outcome and reason when this decision was made (evidence). */
  readonly outageOutcome: DecisionOutcome | null;
  readonly outageReason: DecisionReason | null;
  readonly decidedAt: Date;
  /** HELD only: the paired AD1's due time; the restore is decided when its AD1 is. */
  readonly dueAt: Date | null;
  /** True when it is released after having been suppressed with its AD1. */
  readonly late: boolean;
}

/** An AD1 together with its current decision (after re-evaluation with the restore as a fact). */
export interface OutageAlertWithDecision {
  readonly alert: PowerOutageAlertFact;
  readonly decision: AlertDecision | null;
}

/**
 * The AD1 a restore pairs with: one from a CH that the restore's ESME powered at the AD1's start
 * (per `associations`), whose start overlaps the meter's interruption (the same test that makes
 * the restore release evidence for that AD1). Among several, the one starting nearest the
 * interruption; ties by earlier start, then id. `null` when none.
 */
export function pairSupplyRestoredAlert(
  restore: SupplyRestoredAlertFact,
  outageAlerts: readonly PowerOutageAlertFact[],
  associations: readonly CommsHubAssociationFact[],
  settings: EngineSettings,
): PowerOutageAlertFact | null {
  const matches = outageAlerts.filter((alert) => {
    const valid = associationsAt(associations, alert.commsHubGuid, alert.startAt);
    const esmes = new Set(valid.map((a) => a.esmeGuid.toUpperCase()));
    return (
      esmes.size === 1 &&
      sameCode(valid[0].esmeGuid, restore.esmeGuid) &&
      restoreOverlapsOutage(restore, alert.startAt, settings.skewMinutes)
    );
  });
  const t = restore.interruptionAt.getTime();
  matches.sort(
    (a, b) =>
      Math.abs(a.startAt.getTime() - t) - Math.abs(b.startAt.getTime() - t) ||
      a.startAt.getTime() - b.startAt.getTime() ||
      compareText(a.id, b.id),
  );
  return matches[0] ?? null;
}

function sent(
  restore: SupplyRestoredAlertFact,
  paired: OutageAlertWithDecision | null,
  previous: SupplyRestoredDecision | null,
  reason: RestoreDecisionReason,
  now: Date,
): SupplyRestoredDecision {
  const wasWithheld = previous !== null && isWithheld(previous.outcome);
  return {
    restoreAlertId: restore.id,
    pairedAlertId: paired?.alert.id ?? null,
    outcome: wasWithheld ? 'RELEASED' : 'DELIVERED',
    reason,
    outageOutcome: paired?.decision?.outcome ?? null,
    outageReason: paired?.decision?.reason ?? null,
    decidedAt: now,
    dueAt: null,
    late: previous !== null && (previous.outcome === 'SUPPRESSED' || previous.outcome === 'PAIRED'),
  };
}

function sameRestoreDecision(a: SupplyRestoredDecision, b: SupplyRestoredDecision): boolean {
  return (
    a.restoreAlertId === b.restoreAlertId &&
    a.pairedAlertId === b.pairedAlertId &&
    a.outcome === b.outcome &&
    a.reason === b.reason &&
    a.outageOutcome === b.outageOutcome &&
    a.outageReason === b.outageReason &&
    (a.dueAt?.getTime() ?? null) === (b.dueAt?.getTime() ?? null) &&
    a.late === b.late
  );
}

/**
 * Decides a supply-restored alert from the AD1 it pairs with (see {@link pairSupplyRestoredAlert}).
 * The service decides (or re-decides) the AD1 first, with this restore among its facts, then
 * calls this. Mirrors the AD1: SUPPRESSED, PAIRED and HELD follow it; RELEASED follows it (late
 * when the restore had been suppressed); DELIVERED is delivered. A restore already sent stays
 * sent. Returns `previous` itself when nothing changed.
 */
export function decideSupplyRestoredAlert(
  restore: SupplyRestoredAlertFact,
  paired: OutageAlertWithDecision | null,
  previous: SupplyRestoredDecision | null,
  now: Date,
): SupplyRestoredDecision {
  // Already sent: the DNO has it.
  if (previous !== null && !isWithheld(previous.outcome)) return previous;

  let next: SupplyRestoredDecision;
  if (paired === null) {
    next = sent(restore, null, previous, 'NO_PAIRED_OUTAGE_ALERT', now);
  } else if (paired.decision === null) {
    next = sent(restore, paired, previous, 'OUTAGE_ALERT_UNDECIDED', now);
  } else {
    const outage = paired.decision;
    const followed = sent(restore, paired, previous, 'FOLLOWS_OUTAGE_ALERT', now);
    switch (outage.outcome) {
      case 'DELIVERED':
        next = followed;
        break;
      case 'RELEASED':
        next = { ...followed, outcome: 'RELEASED' };
        break;
      case 'HELD':
      case 'SUPPRESSED':
      case 'PAIRED':
        next = {
          ...followed,
          outcome: outage.outcome,
          dueAt: outage.outcome === 'HELD' ? outage.dueAt : null,
          late: false,
        };
        break;
    }
  }
  return previous !== null && sameRestoreDecision(previous, next) ? previous : next;
}
