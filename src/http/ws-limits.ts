import type { GraphQLError } from 'graphql';
import type { Principal } from '../auth/principal';
import { TooManySubscriptionsError } from '../domain/errors';
import { toGraphQLError } from '../schema/errors';
import { readScopeKey } from '../services/shared/access';

/**
 * The WebSocket close code of a connection refused because its token already holds
 * WS_MAX_CONNECTIONS_PER_TOKEN connections on this instance; the reason starts with
 * TOO_MANY_CONNECTIONS. Not one of graphql-ws's fatal codes, so its client retries with back-off,
 * and gets in once another of the token's connections has closed.
 */
export const TOO_MANY_CONNECTIONS_CLOSE = 4430;

export interface WsLimits {
  /** Connections one token (role and subject) may hold on this instance; 0: no limit. */
  readonly connectionsPerToken: number;
  /** Subscriptions one connection may run at once; 0: no limit. */
  readonly subscriptionsPerConnection: number;
}

/**
 * What identifies a token for the connection limit: its role, subject and rights (two tokens of
 * one subject for different distributor IDs are two tokens; a token minted again is the same one).
 */
export function wsTokenKey(principal: Principal): string {
  return principal.kind === 'user' ? `${principal.subject}|${readScopeKey(principal)}` : 'anonymous';
}

/**
 * Bounds what one token can hold open on an instance: each connection and each subscription keeps
 * memory, a feed of its DNO's outbox and, while it catches up, reads of the database. Without a
 * bound one token could open thousands. Counted in this process's memory: a token may hold the
 * limit on each instance.
 */
export class WsLimiter {
  private readonly perToken = new Map<string, number>();
  private readonly tokenOf = new Map<object, string>();
  private readonly running = new Map<object, Set<string>>();

  constructor(private readonly limits: WsLimits) {}

  /** Admits a connection of the token `key`; false when the token holds the limit already. */
  connect(socket: object, key: string): boolean {
    const held = this.perToken.get(key) ?? 0;
    if (this.limits.connectionsPerToken > 0 && held >= this.limits.connectionsPerToken) return false;
    this.perToken.set(key, held + 1);
    this.tokenOf.set(socket, key);
    return true;
  }

  /** The reason sent with TOO_MANY_CONNECTIONS_CLOSE. */
  refusal(): string {
    return `TOO_MANY_CONNECTIONS: a token may hold ${this.limits.connectionsPerToken} connections`;
  }

  /** A connection has closed: its place and its subscriptions are free. */
  disconnect(socket: object): void {
    this.running.delete(socket);
    const key = this.tokenOf.get(socket);
    if (key === undefined) return;
    this.tokenOf.delete(socket);
    const held = (this.perToken.get(key) ?? 1) - 1;
    if (held > 0) this.perToken.set(key, held);
    else this.perToken.delete(key);
  }

  /** Admits subscription `id` on a connection; the error to answer with when it runs the limit. */
  subscribe(socket: object, id: string): GraphQLError | null {
    const ids = this.running.get(socket) ?? new Set<string>();
    const limit = this.limits.subscriptionsPerConnection;
    if (limit > 0 && ids.size >= limit) return toGraphQLError(new TooManySubscriptionsError(limit));
    ids.add(id);
    this.running.set(socket, ids);
    return null;
  }

  /** Subscription `id` has ended (completed by either side, or failed). */
  complete(socket: object, id: string): void {
    this.running.get(socket)?.delete(id);
  }
}
