/**
 * A decision's evidence as one reader may see it. The evidence of an AD1 can name devices and
 * alerts of another network operator: the ESME powering the hub may carry a neighbour's MPAN (IDNO
 * networks, meter exchanges, hub swaps), and the restores and cluster members it counted are
 * routed by their own MPANs. A reader sees what it may read in full; of the rest, the reason and
 * the numbers stay (outcome, window, times, weights, area key) and every identifier is withheld:
 * a device's ID, manufacturer, model, SMI status and firmware, the activation's IDs and image, the
 * rule (whose ID names the model), and the IDs of alerts, which are counted instead.
 * Which devices and alerts a reader may see is decided by the caller (src/services/shared/access.ts).
 */
import type { ActivationEvidence, ClockEvidence, ClusterEvidence, DecisionEvidence } from './decision';
import type { DeviceEvidence, FirmwareEvidence, TimelineEvidence, VerificationEvidence } from './decision';
import type { WindowEvidence } from './decision';
import type { SupplyRestoredDecision } from './restore';

/** `T` with the keys `K` allowed to be null (withheld). */
type Withholdable<T, K extends keyof T> = Omit<T, K> & { readonly [P in K]: T[P] | null };
/** Marks a part of the evidence whose identifiers were withheld from this reader. */
interface Withheld {
  readonly withheld?: true;
}

export type DeviceView = Withholdable<DeviceEvidence, 'guid' | 'manufacturer' | 'model' | 'smiStatus'> &
  Withheld;
export type ActivationView = Withholdable<
  ActivationEvidence,
  'id' | 'requestId' | 'deviceGuid' | 'imageHash' | 'targetFirmwareVersion'
> &
  Withheld;
export type ClockView = Withholdable<ClockEvidence, 'deviceGuid'>;
export type WindowView = Omit<WindowEvidence, 'clocks'> & {
  readonly clocks?: {
    readonly commsHub: ClockView;
    readonly anchor: ClockView;
    readonly shiftSeconds: number;
  };
};
export type VerificationView = Omit<VerificationEvidence, 'deviceGuid' | 'requests'> & {
  readonly deviceGuid: string | null;
  readonly requests: readonly Withholdable<
    VerificationEvidence['requests'][number],
    'id' | 'firmwareVersion'
  >[];
} & Withheld;
export type ClusterView = ClusterEvidence & {
  /** Cluster members this reader may not read: counted in `weight`, left out of `alertIds`. */
  readonly withheldAlertCount?: number;
};

/** DecisionEvidence, with whatever this reader may not see of other parties withheld. */
export type EvidenceView = Omit<
  DecisionEvidence,
  'commsHub' | 'association' | 'esme' | 'rule' | 'activation' | 'firmware' | 'window' | 'cluster' | 'timeline'
> & {
  readonly commsHub: DeviceView | null;
  readonly association:
    (Withholdable<NonNullable<DecisionEvidence['association']>, 'esmeGuid'> & Withheld) | null;
  readonly esme: DeviceView | null;
  readonly rule: (Withholdable<NonNullable<DecisionEvidence['rule']>, 'id' | 'version'> & Withheld) | null;
  readonly activation: ActivationView | null;
  readonly firmware: (Withholdable<FirmwareEvidence, 'versionBefore'> & Withheld) | null;
  readonly window: WindowView | null;
  readonly cluster: ClusterView | null;
  readonly timeline:
    (Omit<TimelineEvidence, 'verification'> & { readonly verification: VerificationView }) | null;
  /** Overlapping restores this reader may not read: left out of `supplyRestoredAlertIds`. */
  readonly withheldSupplyRestoredAlertCount?: number;
};

/** A restore's decision as a reader may see it: the AD1 it pairs with is named only if readable. */
export type RestoreDecisionView = Withholdable<SupplyRestoredDecision, 'pairedAlertId'> & {
  readonly pairedAlertWithheld?: true;
};

/** What one reader may see: devices by EUI-64, alerts by ID. */
export interface EvidenceSight {
  device(guid: string): boolean;
  alert(id: string): boolean;
}

/** Every device and alert a decision's evidence names: what a caller looks up to build a sight. */
export function evidenceNames(e: DecisionEvidence): { devices: string[]; alerts: string[] } {
  const devices = [
    e.commsHub?.guid,
    e.association?.esmeGuid,
    e.esme?.guid,
    e.activation?.deviceGuid,
    e.window?.clocks?.commsHub.deviceGuid,
    e.window?.clocks?.anchor.deviceGuid,
    e.timeline?.verification.deviceGuid,
  ];
  const alerts = [...e.supplyRestoredAlertIds, ...(e.cluster?.alertIds ?? [])];
  if (e.window?.timingEvidenceId && alertTiming(e.window.timing)) alerts.push(e.window.timingEvidenceId);
  return {
    devices: [...new Set(devices.filter((g): g is string => typeof g === 'string'))],
    alerts: [...new Set(alerts)],
  };
}

/** Timings placed by an alert (a restore, or an AD1 of the hub); NOT_YET_ACTIVATED is placed by a read. */
function alertTiming(timing: string | undefined): boolean {
  return timing === 'DEFERRED_RESTORE' || timing === 'DEFERRED_OUTAGE';
}

function deviceView(d: DeviceEvidence | null, sees: boolean): DeviceView | null {
  if (d === null || sees) return d;
  return {
    guid: null,
    type: d.type,
    manufacturer: null,
    model: null,
    smiStatus: null,
    areaKey: d.areaKey,
    withheld: true,
  };
}

function clockView(c: ClockEvidence, sees: (guid: string) => boolean): ClockView {
  return sees(c.deviceGuid) ? c : { ...c, deviceGuid: null };
}

function windowView(
  w: WindowEvidence,
  sees: (guid: string) => boolean,
  seesActivation: boolean,
  sight: EvidenceSight,
): WindowView {
  const { clocks, timingEvidenceId, ...rest } = w;
  const evidenceSeen =
    timingEvidenceId === undefined || timingEvidenceId === null
      ? timingEvidenceId
      : (alertTiming(w.timing) ? sight.alert(timingEvidenceId) : seesActivation)
        ? timingEvidenceId
        : null;
  return {
    ...rest,
    ...(timingEvidenceId === undefined ? {} : { timingEvidenceId: evidenceSeen }),
    ...(clocks
      ? {
          clocks: {
            commsHub: clockView(clocks.commsHub, sees),
            anchor: clockView(clocks.anchor, sees),
            shiftSeconds: clocks.shiftSeconds,
          },
        }
      : {}),
  };
}

function verificationView(v: VerificationEvidence, sees: boolean): VerificationView {
  if (sees) return v;
  return {
    ...v,
    deviceGuid: null,
    requests: v.requests.map((r) => ({ ...r, id: null, firmwareVersion: null })),
    withheld: true,
  };
}

/**
 * The evidence as a reader with `sight` may see it. The hub that raised the AD1 counts as the
 * reader's: the alert itself names it. The activation's device decides its activation, rule and
 * firmware, and the read that timed its window.
 */
export function viewEvidence(e: DecisionEvidence, sight: EvidenceSight): EvidenceView {
  const sees = (guid: string) => guid === e.alert.commsHubGuid || sight.device(guid);
  const seesActivation = e.activation === null || sees(e.activation.deviceGuid);
  const restores = e.supplyRestoredAlertIds.filter((id) => sight.alert(id));
  const members = e.cluster?.alertIds.filter((id) => sight.alert(id)) ?? [];
  const a = e.activation;
  return {
    ...e,
    commsHub: deviceView(e.commsHub, e.commsHub === null || sees(e.commsHub.guid)),
    association:
      e.association === null || sees(e.association.esmeGuid)
        ? e.association
        : { ...e.association, esmeGuid: null, withheld: true },
    esme: deviceView(e.esme, e.esme === null || sees(e.esme.guid)),
    rule: e.rule === null || seesActivation ? e.rule : { ...e.rule, id: null, version: null, withheld: true },
    activation:
      a === null || seesActivation
        ? a
        : {
            ...a,
            id: null,
            requestId: null,
            deviceGuid: null,
            imageHash: null,
            targetFirmwareVersion: null,
            withheld: true,
          },
    firmware:
      e.firmware === null || seesActivation
        ? e.firmware
        : { ...e.firmware, versionBefore: null, withheld: true },
    window: e.window === null ? null : windowView(e.window, sees, seesActivation, sight),
    supplyRestoredAlertIds: restores,
    ...(restores.length < e.supplyRestoredAlertIds.length
      ? { withheldSupplyRestoredAlertCount: e.supplyRestoredAlertIds.length - restores.length }
      : {}),
    cluster:
      e.cluster === null || members.length === e.cluster.alertIds.length
        ? e.cluster
        : { ...e.cluster, alertIds: members, withheldAlertCount: e.cluster.alertIds.length - members.length },
    timeline:
      e.timeline === null
        ? null
        : {
            ...e.timeline,
            verification: verificationView(e.timeline.verification, sees(e.timeline.verification.deviceGuid)),
          },
  };
}

/** A restore's decision as a reader with `sight` may see it. */
export function viewRestoreDecision(d: SupplyRestoredDecision, sight: EvidenceSight): RestoreDecisionView {
  if (d.pairedAlertId === null || sight.alert(d.pairedAlertId)) return d;
  return { ...d, pairedAlertId: null, pairedAlertWithheld: true };
}
