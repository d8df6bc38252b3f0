import type { Principal } from '../auth/principal';
import { ForbiddenError, UnauthenticatedError } from '../domain/errors';
import type { Role } from '../domain/model';

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
