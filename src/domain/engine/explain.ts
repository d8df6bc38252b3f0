import type { AlertDecision, DecisionReason } from './decision';
import type { ClockView, EvidenceView, RestoreDecisionView, WindowView } from './evidence-view';
import type { RestoreDecisionReason } from './restore';

/**
 * A decision as a reader may see it (evidence-view.ts): what explanations are made from. A full
 * decision is one, for a reader who may see everything.
 */
export type DecisionForReader = Omit<AlertDecision, 'evidence' | 'shadow'> & {
  readonly evidence: EvidenceView;
  readonly shadow: Pick<AlertDecision, 'outcome' | 'reason'> | null;
};

/** How a part withheld from the reader is named: the reason and the numbers stay. */
const OTHER_METER = "another network operator's meter";

/** What each reason code means, in words an operator or a DNO reads. */
export const REASON_TEXT: Readonly<Record<DecisionReason | RestoreDecisionReason, string>> = {
  UNKNOWN_DEVICE: 'the Communications Hub is not in the inventory, so nothing is assumed (fail open)',
  NO_COMMS_HUB_LINK: 'no ESME is known to have powered the hub at the outage start (fail open)',
  AMBIGUOUS_COMMS_HUB_LINK:
    'more than one ESME is recorded as powering the hub at the outage start (fail open)',
  UNKNOWN_MODEL: 'the device model is not known (fail open)',
  NO_MATCHING_RULE: 'no enabled affected-firmware rule covers the device model',
  NO_ACTIVATION_WINDOW: 'no firmware activation window contains the outage start',
  UNKNOWN_FIRMWARE_VERSION: 'the firmware version before the activation is not known (fail open)',
  FIRMWARE_NOT_AFFECTED: 'the firmware version before the activation is not one that cuts hub power',
  UNROUTED_ALERT: 'the alert could not be routed to a network operator, so it is never withheld',
  UNKNOWN_AREA: 'the device has no area key, so a neighbourhood outage could not be ruled out (fail open)',
  SHADOW_RULE: 'only a shadow rule matched: the decision is recorded but the alert is not withheld',
  AWAITING_EVIDENCE:
    'the outage started inside a firmware activation window; held until the hub must be back and its messages could have arrived',
  OTA_INDUCED:
    'the outage started inside the window of a firmware activation that ran (by its outcome or by the meter answering a read) and no evidence of a genuine outage arrived',
  SUPPLY_RESTORED_OVERLAP:
    'the meter reported a supply interruption overlapping the outage: a genuine loss of supply',
  AREA_CLUSTER:
    'enough neighbouring premises outside activation windows lost power at the same time: a genuine outage',
  ACTIVATION_FAILED: 'the firmware activation failed, so it cannot explain the outage',
  ACTIVATION_CANCELLED: 'the firmware activation was cancelled, so it cannot explain the outage',
  ACTIVATION_SUPERSEDED: 'the firmware activation was superseded, so it cannot explain the outage',
  OUTCOME_NOT_RECEIVED:
    'the activation outcome did not arrive in time, so the outage could not be confirmed as OTA-induced',
  HOLD_EXPIRED: 'the hold bound ran out before the outage was confirmed as OTA-induced',
  SAFETY_BUDGET_SPENT: 'too many alerts were being suppressed here: the safety budget stopped suppressing',
  AWAITING_VERIFICATION:
    'no activation outcome arrived although the hub should be back, so the meter was asked for its firmware version',
  VERIFICATION_UNANSWERED:
    'the meter did not answer a read once its hub should have been back: it is still without power, a genuine outage',
  VERIFICATION_NOT_ACTIVATED:
    'the meter answered with the firmware from before the activation, so the activation did not run and cannot explain the outage',
  VERIFICATION_BUDGET_SPENT:
    'too many verification requests were being sent here, so the meter could not be asked (fail open)',
  HOLD_CEILING_ENFORCED:
    'the alert was still held at its hold ceiling, which no hold may pass, so it was released (fail open)',
  NO_PAIRED_OUTAGE_ALERT: 'no power outage alert pairs with this restoration, so it is delivered on its own',
  OUTAGE_ALERT_UNDECIDED:
    'the paired power outage alert has no decision yet, so the restoration is delivered',
  FOLLOWS_OUTAGE_ALERT: 'the restoration takes the same treatment as the power outage alert it pairs with',
};

/** How a window was anchored, in words (WindowEvidence.timing). */
const TIMING_TEXT: Readonly<Record<string, string>> = {
  EXECUTED: 'the actual execution time',
  REQUESTED: 'the requested time',
  DEFERRED_RESTORE:
    'the restoration of a supply interruption that spanned the requested time: a meter without mains runs the activation when supply returns',
  DEFERRED_OUTAGE:
    "the requested time, which fell in an outage of the hub already under way: the meter runs the activation when supply returns, so the hub's next outage may be its",
  NOT_YET_ACTIVATED: 'a read after the requested time that still showed the old firmware',
  OUTCOME_PENDING: 'the requested time, the activation having no outcome yet and nothing showing it ran',
};

function clockLine(clocks: WindowView['clocks'], unsure: boolean): string {
  const one = (c: ClockView, name: string) =>
    c.samples === 0 && c.lowSeconds === 0 && c.highSeconds === 0
      ? `${name} exact`
      : `${name} ${c.offsetSeconds >= 0 ? '+' : ''}${c.offsetSeconds} s` +
        (c.samples > 0
          ? ` (its ${c.samples} message(s) allow ${c.lowSeconds ?? '-'}..${c.highSeconds ?? '-'} s)`
          : ' (no messages yet)');
  const text =
    `Clock offsets used: ${one(clocks!.commsHub, 'hub')}; ${one(clocks!.anchor, 'anchor')}; ` +
    `window moved by ${clocks!.shiftSeconds} s.`;
  return unsure
    ? `${text} Only a clock offset the devices' messages do not show puts the outage in the window: the meter is asked, and its answer bounds its clock.`
    : text;
}

/** The meter and the activation the decision is about, as far as the reader may see them. */
function meterLines(e: EvidenceView): string[] {
  const lines: string[] = [];
  if (e.association) {
    lines.push(
      `At the outage start the hub was powered by ${e.association.esmeGuid === null ? 'an ESME of another network operator' : `ESME ${e.association.esmeGuid}`} (since ${e.association.effectiveFrom}).`,
    );
  }
  if (e.esme)
    lines.push(
      e.esme.withheld
        ? `ESME of another network operator, area ${e.esme.areaKey ?? 'unknown'}.`
        : `ESME model ${e.esme.manufacturer ?? '?'}/${e.esme.model ?? '?'}, area ${e.esme.areaKey ?? 'unknown'}.`,
    );
  if (e.rule)
    lines.push(
      e.rule.withheld
        ? `An affected-firmware rule${e.rule.shadow ? ' (shadow)' : ''} covers the ${e.rule.deviceType} (${OTHER_METER}).`
        : `Rule ${e.rule.id} version ${e.rule.version}${e.rule.shadow ? ' (shadow)' : ''} covers the ${e.rule.deviceType}.`,
    );
  if (e.firmware)
    lines.push(
      `Firmware before the activation: ${e.firmware.versionBefore ?? `an affected version (${OTHER_METER})`} (from ${e.firmware.source === 'ACTIVATION' ? 'the activation record' : 'the inventory history'}).`,
    );
  if (e.activation) {
    const a = e.activation;
    lines.push(
      `${activationName(a.requestId)} is ${a.status}${a.outcomeCode ? ` (${a.outcomeCode})` : ''}, requested for ${a.requestedAt}` +
        `${a.actualExecutedAt ? `, executed at ${a.actualExecutedAt}` : ', execution time not yet known'}.`,
    );
  }
  return lines;
}

/** A readable account of an AD1 decision, one sentence a line, from the evidence it recorded. */
export function explainAlertDecision(decision: DecisionForReader): string[] {
  const e = decision.evidence;
  const lines = [
    `Power outage alert ${e.alert.id} from Communications Hub ${e.alert.commsHubGuid}, outage start ${e.alert.startAt}, received ${e.alert.receivedAt}.`,
    `Decision: ${decision.outcome}${decision.late ? ' (late)' : ''} because ${REASON_TEXT[decision.reason]} [${decision.reason}].`,
  ];
  lines.push(...meterLines(e));
  if (e.window) {
    const anchoredOn = e.window.timing
      ? (TIMING_TEXT[e.window.timing] ?? e.window.timing)
      : e.window.anchoredOnActual
        ? 'the actual execution time'
        : 'the requested time';
    lines.push(
      `Window ${e.window.from} to ${e.window.to} (${e.window.skewMinutes} min skew, ${e.window.windowMinutes} min window, ` +
        `anchored at ${e.window.anchor} on ${anchoredOn}${e.window.timingEvidenceId ? ` (${e.window.timingEvidenceId})` : ''}).`,
    );
    if (e.window.clocks) lines.push(clockLine(e.window.clocks, e.window.clockUnsure ?? false));
  }
  const otherRestores = e.withheldSupplyRestoredAlertCount ?? 0;
  if (e.supplyRestoredAlertIds.length || otherRestores)
    lines.push(
      `Overlapping supply-restored alerts: ${[
        ...e.supplyRestoredAlertIds,
        ...(otherRestores ? [`${otherRestores} of another network operator`] : []),
      ].join(', ')}.`,
    );
  if (e.cluster) {
    lines.push(
      `Area ${e.cluster.areaKey}: ${e.cluster.weight} neighbouring outage alert(s) outside activation windows within ` +
        `${e.cluster.minutes} min (cluster at ${e.cluster.size}): ${e.cluster.found ? 'a cluster' : 'no cluster'}.`,
    );
  }
  if (e.budget?.dno?.spent || e.budget?.area?.spent) {
    lines.push(
      `Safety budget spent (${e.budget.dno?.spent ? `DNO by ${e.budget.dno.spent}` : `area by ${e.budget.area?.spent}`}).`,
    );
  }
  if (e.timeline) {
    const t = e.timeline;
    lines.push(
      `The hub is back by ${t.hubBackBy} if the cut was OTA-induced (at most ${t.maxCommsHubOffMinutes} min dark); ` +
        `evidence could have arrived by ${t.evidenceAt}; no hold lasts past ${t.ceilingAt}.`,
    );
    for (const v of t.verification.requests) {
      lines.push(
        `Verification ${v.id ?? ''}${v.id ? ' ' : ''}to ${t.verification.deviceGuid ?? OTHER_METER} at ${v.requestedAt}: ${v.status}` +
          `${v.answeredAt ? `, answered at ${v.answeredAt}` : ''}${v.firmwareVersion ? ` with firmware ${v.firmwareVersion}` : ''}.`,
      );
    }
    if (t.verification.activationRan !== null) {
      lines.push(
        `The meter's answer shows the activation ${t.verification.activationRan ? 'ran' : 'did not run'}.`,
      );
    }
  }
  if (decision.outcome === 'HELD' && decision.dueAt)
    lines.push(`Decided by ${decision.dueAt.toISOString()} at the latest.`);
  if (decision.shadow) {
    lines.push(`Had the shadow rule been enforced: ${decision.shadow.outcome} [${decision.shadow.reason}].`);
  }
  return lines;
}

/** How an activation is named: by its request ID, or, on another operator's meter, without one. */
export function activationName(requestId: string | null): string {
  return requestId === null ? `The activation on ${OTHER_METER}` : `Activation ${requestId}`;
}

/** A readable account of a supply-restored alert's decision. */
export function explainRestoreDecision(decision: RestoreDecisionView): string[] {
  const paired = decision.pairedAlertId
    ? `, paired with power outage alert ${decision.pairedAlertId}`
    : decision.pairedAlertWithheld
      ? ', paired with a power outage alert of another network operator'
      : '';
  return [
    `Supply-restored alert ${decision.restoreAlertId}${paired}.`,
    `Decision: ${decision.outcome}${decision.late ? ' (late)' : ''} because ${REASON_TEXT[decision.reason]} [${decision.reason}].`,
    ...(decision.outageOutcome
      ? [`The power outage alert is ${decision.outageOutcome} [${decision.outageReason}].`]
      : []),
  ];
}
