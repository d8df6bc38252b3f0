/**
 * A baseline scenario for engine tests: one affected ESME powering one CH, one enforced rule for
 * its model, one successful immediate activation at T0, and an AD1 five minutes later. Each test
 * changes one thing with `facts({...})` and the small builders below.
 */
import type {
  AffectedFirmwareRuleFact,
  AlertDecision,
  CommsHubAssociationFact,
  DeviceFact,
  EngineSettings,
  FirmwareActivationFact,
  NeighbourOutageAlertFact,
  PowerOutageAlertFact,
  PowerOutageAlertFacts,
  SupplyRestoredAlertFact,
} from '../../../src/domain/engine';
import { DEFAULT_ENGINE_SETTINGS, decidePowerOutageAlert } from '../../../src/domain/engine';

export const T0 = new Date('2025-03-01T02:00:00.000Z');
export const MIN = 60_000;

/** T0 plus `minutes` (and `ms`). */
export function at(minutes: number, ms = 0): Date {
  return new Date(T0.getTime() + minutes * MIN + ms);
}

export const CH = '00-DB-12-34-56-78-90-C0';
export const CH_OTHER = '00-DB-12-34-56-78-90-C1';
export const ESME = '00-DB-12-34-56-78-90-E0';
export const ESME_OTHER = '00-DB-12-34-56-78-90-E1';
export const OLD_FW = '0002012F';
export const NEW_FW = '00020130';
export const HASH = 'AB'.repeat(32);

/**
 * The rule tests place the AD1 minutes after T0, so they run with a 30-minute window after the
 * actual execution time too, and a 5-minute hold ceiling that ends each hold before the evidence
 * bound (T0+5 start + 2 skew + 15 cut + 1 transit). `timeline.test.ts` covers the defaults: the
 * narrow executed window, the evidence bound and verification.
 */
export const settings: EngineSettings = {
  ...DEFAULT_ENGINE_SETTINGS,
  executedWindowMinutes: 30,
  holdMinutes: 5,
  // Window boundaries are tested as the skew allowance draws them; clocks.test.ts covers asking
  // the meter when only an unknown clock could explain an outage start.
  maxClockSkewMinutes: 0,
};

export function device(overrides: Partial<DeviceFact> = {}): DeviceFact {
  return {
    guid: ESME,
    type: 'ESME',
    manufacturer: 'AB01',
    model: '010A030B',
    firmwareHistory: [{ version: OLD_FW, effectiveFrom: new Date('2024-01-01T00:00:00Z') }],
    smiStatus: 'Commissioned',
    areaKey: 'FEEDER-1',
    ...overrides,
  };
}

export function commsHub(overrides: Partial<DeviceFact> = {}): DeviceFact {
  return device({
    guid: CH,
    type: 'CHF',
    manufacturer: 'CC01',
    model: '00000C01',
    firmwareHistory: [{ version: '00000100', effectiveFrom: new Date('2024-01-01T00:00:00Z') }],
    ...overrides,
  });
}

export function rule(overrides: Partial<AffectedFirmwareRuleFact> = {}): AffectedFirmwareRuleFact {
  return {
    id: 'rule-e470',
    version: 1,
    deviceType: 'ESME',
    manufacturer: 'AB01',
    model: '010A030B',
    affectedFirmwareVersions: [OLD_FW],
    targetFirmwareVersion: null,
    targetImageHash: null,
    windowMinutes: null,
    skewMinutes: null,
    enabled: true,
    shadow: false,
    ...overrides,
  };
}

export function activation(overrides: Partial<FirmwareActivationFact> = {}): FirmwareActivationFact {
  return {
    id: 'act-1',
    requestId: `${ESME}:00-00-00-00-00-00-00-01:1`,
    deviceGuid: ESME,
    status: 'SUCCEEDED',
    requestedAt: T0,
    actualExecutedAt: T0,
    outcomeCode: 'success',
    imageHash: HASH,
    targetFirmwareVersion: NEW_FW,
    firmwareVersionBefore: null,
    ...overrides,
  };
}

/** A future-dated activation whose outcome is not known yet. */
export function scheduled(overrides: Partial<FirmwareActivationFact> = {}): FirmwareActivationFact {
  return activation({ status: 'SCHEDULED', actualExecutedAt: null, outcomeCode: null, ...overrides });
}

export function association(overrides: Partial<CommsHubAssociationFact> = {}): CommsHubAssociationFact {
  return {
    commsHubGuid: CH,
    esmeGuid: ESME,
    effectiveFrom: new Date('2024-01-01T00:00:00Z'),
    effectiveTo: null,
    ...overrides,
  };
}

export function alert(overrides: Partial<PowerOutageAlertFact> = {}): PowerOutageAlertFact {
  return {
    id: 'ad1-1',
    commsHubGuid: CH,
    startAt: at(5),
    receivedAt: at(8),
    mpan: '1000000000003',
    distributorId: '10',
    throttledCount: 1,
    duisResponseId: null,
    ...overrides,
  };
}

/** A restore whose interruption overlaps the baseline AD1 (start T0+5). */
export function restore(overrides: Partial<SupplyRestoredAlertFact> = {}): SupplyRestoredAlertFact {
  return {
    id: 'restore-1',
    esmeGuid: ESME,
    alertCode: '8F35',
    interruptionAt: at(5),
    restorationAt: at(65),
    receivedAt: at(66),
    ...overrides,
  };
}

export function neighbour(
  id: string,
  overrides: Partial<NeighbourOutageAlertFact> = {},
): NeighbourOutageAlertFact {
  return {
    alertId: id,
    commsHubGuid: null,
    startAt: at(5),
    throttledCount: 1,
    inActivationWindow: false,
    ...overrides,
  };
}

/** The baseline facts with overrides. */
export function facts(overrides: Partial<PowerOutageAlertFacts> = {}): PowerOutageAlertFacts {
  return {
    alert: alert(),
    devices: [commsHub(), device()],
    associations: [association()],
    rules: [rule()],
    activations: [activation()],
    supplyRestoredAlerts: [],
    verifications: [],
    area: { key: 'FEEDER-1', neighbourAlerts: [], budget: { suppressions: 0, alerts: 1 } },
    dnoBudget: { suppressions: 0, alerts: 1 },
    deliveryPreference: 'FILTER',
    previousDecision: null,
    ...overrides,
  };
}

/** The baseline hold bound: receivedAt (T0+8) + 5 minutes. */
export const DUE = at(13);

/** Decide once. */
export function decide(f: PowerOutageAlertFacts, now: Date, s: EngineSettings = settings): AlertDecision {
  return decidePowerOutageAlert(f, s, now);
}

/**
 * Decide a sequence of evaluations, each with the previous decision carried over: what the
 * service does as facts arrive. Returns every decision.
 */
export function sequence(
  steps: readonly { readonly facts: PowerOutageAlertFacts; readonly now: Date }[],
  s: EngineSettings = settings,
): AlertDecision[] {
  const out: AlertDecision[] = [];
  let previous: AlertDecision | null = null;
  for (const step of steps) {
    previous = decidePowerOutageAlert({ ...step.facts, previousDecision: previous }, s, step.now);
    out.push(previous);
  }
  return out;
}

/** Decide at receipt, then at the due time: the two evaluations of an uneventful hold. */
export function heldThenDue(f: PowerOutageAlertFacts, s: EngineSettings = settings): AlertDecision[] {
  return sequence(
    [
      { facts: f, now: f.alert.receivedAt },
      { facts: f, now: new Date(f.alert.receivedAt.getTime() + s.holdMinutes * MIN) },
    ],
    s,
  );
}
