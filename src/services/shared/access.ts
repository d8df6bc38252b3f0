import type { Principal } from '../../auth/principal';
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
  device: { readonly guid: string; readonly distributorId: string | null },
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
