import type { Principal } from '../../auth/principal';
import { evidenceNames, viewEvidence, viewRestoreDecision } from '../../domain/engine';
import type { DecisionEvidence, EvidenceSight, SupplyRestoredDecision } from '../../domain/engine';
import { ForbiddenError, UnauthenticatedError } from '../../domain/errors';
import type { Role } from '../../domain/model';

/**
 * Authorization rules, enforced in the service layer so that every path (HTTP, WebSocket,
 * federation references, XML) obeys the same ones.
 */
export type User = Extract<Principal, { kind: 'user' }>;

export function requireUser(principal: Principal): User {
  if (principal.kind !== 'user') throw new UnauthenticatedError('this operation needs a bearer token');
  return principal;
}

export function requireRole(principal: Principal, ...roles: Role[]): User {
  const user = requireUser(principal);
  if (!roles.includes(user.role)) {
    throw new ForbiddenError(
      `role ${user.role} may not perform this operation (needs ${roles.join(' or ')})`,
    );
  }
  return user;
}

/**
 * A key for everything a principal may read: two principals with the same key pass every read
 * rule in this module alike (the rules depend on the role, the distributor IDs and the supplier
 * ID, never on who the subject is). Subscribers that share one event's result are keyed so.
 */
export function readScopeKey(principal: Principal): string {
  if (principal.kind !== 'user') return 'anonymous';
  return [principal.role, [...principal.distributorIds].sort().join(','), principal.supplierId ?? ''].join(
    '|',
  );
}

/**
 * Which devices a principal may read: operators all, distributors those whose MPAN carries one
 * of their distributor IDs. Suppliers read devices only through their own activations.
 */
export type DeviceScope =
  { readonly all: true } | { readonly all: false; readonly distributorIds: readonly string[] };

export function deviceReadScope(principal: Principal): DeviceScope {
  const user = requireRole(principal, 'OPERATOR', 'ED');
  return user.role === 'OPERATOR' ? { all: true } : { all: false, distributorIds: user.distributorIds };
}

export function inScope(scope: DeviceScope, distributorId: string | null): boolean {
  return scope.all || (distributorId !== null && scope.distributorIds.includes(distributorId));
}

/**
 * The read rules of every object, in one place. Root fields, nested fields (through the loaders
 * in src/loaders), federation references and subscription payloads all ask these, so a field
 * added anywhere inherits them:
 * - OPERATOR reads everything;
 * - ED reads devices whose MPAN carries one of its distributor IDs, alerts routed to one of
 *   them, and the activations of devices it reads;
 * - IS/GS read their own activations and the devices those activations target;
 * - a caller without a token reads none of them (only public reference data).
 */
export function mayReadDevice(
  principal: Principal,
  device: { readonly distributorId: string | null },
  /** For IS/GS: whether one of the supplier's own activations targets this device. */
  targetedBySupplier = false,
): boolean {
  if (principal.kind !== 'user') return false;
  switch (principal.role) {
    case 'OPERATOR':
      return true;
    case 'ED':
      return device.distributorId !== null && principal.distributorIds.includes(device.distributorId);
    default:
      return targetedBySupplier;
  }
}

export function mayReadAlert(
  principal: Principal,
  alert: { readonly distributorId: string | null },
): boolean {
  if (principal.kind !== 'user') return false;
  if (principal.role === 'OPERATOR') return true;
  return (
    principal.role === 'ED' &&
    alert.distributorId !== null &&
    principal.distributorIds.includes(alert.distributorId)
  );
}

export function mayReadActivation(
  principal: Principal,
  activation: { readonly supplierId: string | null },
  /** For ED: whether it may read the target device. */
  deviceReadable: boolean,
): boolean {
  if (principal.kind !== 'user') return false;
  switch (principal.role) {
    case 'OPERATOR':
      return true;
    case 'ED':
      return deviceReadable;
    default:
      return activation.supplierId !== null && activation.supplierId === principal.supplierId;
  }
}

/**
 * Commercial fields of a meter (its registered supplier) are for the OPERATOR and the supplier
 * registered for it now. A DNO does not read them, nor does a supplier that has lost the meter
 * (it still reads the meter through its own earlier activations, but not who gained it).
 */
export function mayReadRegisteredSupplier(
  principal: Principal,
  registration: { readonly supplierId: string },
): boolean {
  if (principal.kind !== 'user') return false;
  if (principal.role === 'OPERATOR') return true;
  return (
    (principal.role === 'IS' || principal.role === 'GS') &&
    principal.supplierId !== undefined &&
    registration.supplierId === principal.supplierId
  );
}

/** Who a device named in a decision's evidence belongs to: its MPAN's DNO and its supplier now. */
export interface EvidenceDeviceFact {
  readonly distributorId: string | null;
  readonly registeredSupplierId: string | null;
}

/**
 * Whether a reader of one end of a Communications Hub link may see the other end named: a device
 * it may read, or one of no network operator (a hub carries no MPAN). Another DNO's meter, or a
 * hub carrying another DNO's MPAN, is not named: the link is left out, as a decision's evidence
 * leaves that neighbour anonymous.
 */
export function mayNameLinkedDevice(
  principal: Principal,
  device: { readonly distributorId: string | null } | undefined,
  /** For IS/GS: whether one of the supplier's own activations targets this device. */
  targetedBySupplier = false,
): boolean {
  if (principal.kind !== 'user') return false;
  if (principal.role === 'OPERATOR') return true;
  if (device === undefined) return false;
  return device.distributorId === null || mayReadDevice(principal, device, targetedBySupplier);
}

/** Whose devices and alerts a decision's evidence names (unknown ones are nobody's). */
export interface EvidenceFacts {
  readonly devices: ReadonlyMap<string, EvidenceDeviceFact>;
  readonly alerts: ReadonlyMap<string, { readonly distributorId: string | null }>;
}

/**
 * Whether a reader sees a device named in evidence: the OPERATOR every one, a DNO the devices of
 * its MPANs, a supplier the meters registered to it now; a neighbour's device only anonymously.
 */
export function maySeeInEvidence(principal: Principal, device: EvidenceDeviceFact | undefined): boolean {
  if (device === undefined) return principal.kind === 'user' && principal.role === 'OPERATOR';
  // As mayReadDevice, except that a supplier's own meters are those registered to it now.
  const registeredToReader =
    principal.kind === 'user' &&
    principal.supplierId !== undefined &&
    device.registeredSupplierId === principal.supplierId;
  return mayReadDevice(principal, device, registeredToReader);
}

/** What a reader sees of the devices and alerts in `facts`; null: everything (the OPERATOR). */
function evidenceSight(principal: Principal, facts: EvidenceFacts): EvidenceSight | null {
  if (principal.kind === 'user' && principal.role === 'OPERATOR') return null;
  return {
    device: (guid) => maySeeInEvidence(principal, facts.devices.get(guid)),
    alert: (id) => {
      const alert = facts.alerts.get(id);
      return alert !== undefined && mayReadAlert(principal, alert);
    },
  };
}

/** A ledger entry: a decision as stored, with the columns that repeat its rule and activation. */
export interface LedgerEntry {
  readonly decision: Record<string, unknown>;
  readonly activationId: string | null;
  readonly ruleId: string | null;
  readonly ruleVersion: number | null;
}

/** The devices and alerts the evidence of these entries names: what to load `EvidenceFacts` for. */
export function ledgerNames(entries: readonly LedgerEntry[]): { devices: string[]; alerts: string[] } {
  const devices = new Set<string>();
  const alerts = new Set<string>();
  for (const { decision } of entries) {
    if ('evidence' in decision) {
      const names = evidenceNames(decision.evidence as DecisionEvidence);
      names.devices.forEach((g) => devices.add(g));
      names.alerts.forEach((id) => alerts.add(id));
    } else if (typeof decision.pairedAlertId === 'string') alerts.add(decision.pairedAlertId);
  }
  return { devices: [...devices], alerts: [...alerts] };
}

/**
 * A ledger entry as `principal` may read it: THE rule for evidence, applied on every path that
 * hands a decision out (nested `decision`/`decisionHistory` through the loaders, so also `alert`,
 * `alerts`, `_entities` and `dnoAlerts`; and `explainAlert`). Devices and alerts of another party
 * are withheld from its evidence (src/domain/engine/evidence-view.ts): the reason and the numbers
 * stay. When the activation is withheld, so are the entry's activation and rule columns.
 */
export function ledgerEntryForReader<T extends LedgerEntry>(
  principal: Principal,
  entry: T,
  facts: EvidenceFacts,
): T {
  const sight = evidenceSight(principal, facts);
  if (sight === null) return entry;
  const d = entry.decision;
  if (!('evidence' in d)) {
    return { ...entry, decision: viewRestoreDecision(d as unknown as SupplyRestoredDecision, sight) };
  }
  const evidence = viewEvidence(d.evidence as DecisionEvidence, sight);
  const shadow = d.shadow as { evidence: DecisionEvidence } | null | undefined;
  const decision = {
    ...d,
    evidence,
    ...(shadow ? { shadow: { ...shadow, evidence: viewEvidence(shadow.evidence, sight) } } : {}),
    ...(evidence.activation?.withheld ? { activationId: null, ruleId: null, ruleVersion: null } : {}),
  };
  return evidence.activation?.withheld
    ? { ...entry, decision, activationId: null, ruleId: null, ruleVersion: null }
    : { ...entry, decision };
}

/** What a DNO message says made its AD1 OTA-induced (src/services/delivery/messages.ts). */
export interface OtaInducedFacts {
  /** The activated device; absent from messages written before 2026-12-08. */
  readonly deviceGuid?: string | null;
  readonly activationId: string | null;
  readonly activationRequestId: string | null;
  readonly manufacturer: string | null;
  readonly model: string | null;
  readonly firmwareBefore: string | null;
  readonly firmwareAfter: string | null;
  readonly ruleId: string | null;
  readonly ruleVersion: number | null;
}

/**
 * A message's OTA-induced details as `principal` may read them: the same rule as the evidence.
 * The activated device is the hub that raised the AD1 (its own activation) or the ESME powering
 * it, maybe a neighbour's; a message that does not name it is read as a neighbour's.
 */
export function otaInducedForReader<T extends OtaInducedFacts>(
  principal: Principal,
  details: T,
  raisedBy: string,
  facts: EvidenceFacts,
): T {
  const sight = evidenceSight(principal, facts);
  const device = details.deviceGuid;
  if (sight === null || (device && (device === raisedBy || sight.device(device)))) return details;
  return {
    ...details,
    deviceGuid: null,
    activationId: null,
    activationRequestId: null,
    manufacturer: null,
    model: null,
    firmwareBefore: null,
    firmwareAfter: null,
    ruleId: null,
    ruleVersion: null,
  };
}
