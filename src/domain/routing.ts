/**
 * Which network operator an alert goes to. An alert belongs to the registered distributor of its
 * MPAN; when the MPAN it carries cannot say (no MPAN, malformed, a bad check digit, a distributor
 * that is not a known operator), the inventory usually can: the ESME that powered the hub at the
 * outage start has a valid MPAN. Only what truly has no owner stays UNROUTED, because an alert
 * that reaches no DNO is a genuine outage nobody hears of (docs/TIMELINE.md: "recorded, routed
 * and flagged, never dropped").
 */
import { inspectMpan } from './identifiers';

/** How an alert was routed: by its own MPAN, or by a fallback (the alert is then flagged). */
export const ALERT_ROUTINGS = ['MPAN', 'COMMS_HUB_LINK', 'ESME_INVENTORY', 'MPAN_PREFIX'] as const;
export type AlertRouting = (typeof ALERT_ROUTINGS)[number];

/** Why the alert's own MPAN could not route it. */
export type MpanProblem = 'NO_MPAN' | 'MALFORMED_MPAN' | 'BAD_CHECK_DIGIT' | 'UNKNOWN_DISTRIBUTOR';

export interface AlertRoute {
  /** Well formed with a valid check digit. */
  readonly mpanValid: boolean;
  /** The operator it goes to; `null`: the UNROUTED queue. */
  readonly distributorId: string | null;
  /** How it was routed; `null` when unrouted. */
  readonly routedBy: AlertRouting | null;
  /** Why it is unrouted; `null` when routed (by any means). */
  readonly unroutedReason: MpanProblem | null;
}

/** What the alert's own MPAN says: its operator, or why it cannot say. */
export function routeByMpan(
  mpan: string | null,
  known: ReadonlySet<string>,
): { mpanValid: boolean; distributorId: string | null; problem: MpanProblem | null } {
  if (!mpan) return { mpanValid: false, distributorId: null, problem: 'NO_MPAN' };
  const m = inspectMpan(mpan);
  if (!m.wellFormed) return { mpanValid: false, distributorId: null, problem: 'MALFORMED_MPAN' };
  if (!m.checkDigitValid) return { mpanValid: false, distributorId: null, problem: 'BAD_CHECK_DIGIT' };
  if (!known.has(m.distributorId!))
    return { mpanValid: true, distributorId: null, problem: 'UNKNOWN_DISTRIBUTOR' };
  return { mpanValid: true, distributorId: m.distributorId, problem: null };
}

/**
 * Routes an alert: by its own MPAN; else by the inventory's valid MPAN of the ESME behind it
 * (`fallback`: for an AD1 the ESME that powered the hub at the outage start, COMMS_HUB_LINK; for
 * a restore the ESME that raised it, ESME_INVENTORY); else by the two-digit distributor prefix of
 * a well-formed MPAN whose check digit failed, when that prefix is a known operator.
 */
export function routeAlert(
  mpan: string | null,
  fallback: { readonly mpan: string | null; readonly via: 'COMMS_HUB_LINK' | 'ESME_INVENTORY' },
  known: ReadonlySet<string>,
): AlertRoute {
  const own = routeByMpan(mpan, known);
  if (own.distributorId !== null) {
    return {
      mpanValid: own.mpanValid,
      distributorId: own.distributorId,
      routedBy: 'MPAN',
      unroutedReason: null,
    };
  }
  const linked = routeByMpan(fallback.mpan, known);
  if (linked.distributorId !== null) {
    return {
      mpanValid: own.mpanValid,
      distributorId: linked.distributorId,
      routedBy: fallback.via,
      unroutedReason: null,
    };
  }
  const m = mpan ? inspectMpan(mpan) : null;
  if (m?.wellFormed && !m.checkDigitValid && known.has(m.distributorId!)) {
    return {
      mpanValid: false,
      distributorId: m.distributorId,
      routedBy: 'MPAN_PREFIX',
      unroutedReason: null,
    };
  }
  return { mpanValid: own.mpanValid, distributorId: null, routedBy: null, unroutedReason: own.problem };
}
