import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';

/**
 * Apollo's automatic persisted queries (APQ), checked before Apollo sees the request, so that
 * each way a client can get the protocol wrong has the code Apollo clients branch on instead of
 * Apollo's uncoded errors (which came out as HTTP 400 INTERNAL):
 *
 * - `version` other than 1: PERSISTED_QUERY_NOT_SUPPORTED (HTTP 200, as Apollo answers when APQ is
 *   off), so a client falls back to sending whole queries;
 * - no `sha256Hash`, or one that is not 64 lower-case hex digits: BAD_REQUEST, reason
 *   PERSISTED_QUERY_INVALID_HASH;
 * - a query whose SHA-256 is not the hash sent: BAD_REQUEST, reason PERSISTED_QUERY_HASH_MISMATCH
 *   (the query is not stored under a hash it does not have).
 *
 * A hash the server does not know is Apollo's own PERSISTED_QUERY_NOT_FOUND, which the error
 * formatter passes through, and the client then sends the query with it.
 */
export function persistedQueryCheck(): RequestHandler {
  return (req, res, next) => {
    const request = req.method === 'GET' ? fromQueryString(req.query) : (req.body as unknown);
    // Batches (arrays) are refused by Apollo itself; a body that is no object has no extensions.
    if (typeof request !== 'object' || request === null || Array.isArray(request)) return next();
    const { query, extensions } = request as { query?: unknown; extensions?: unknown };
    const persisted = (extensions as { persistedQuery?: unknown } | null | undefined)?.persistedQuery;
    if (persisted === undefined) return next();
    const refuse = (status: number, code: string, reason: string, message: string) =>
      res
        .status(status)
        .set('cache-control', 'private, no-cache, must-revalidate')
        .json({ errors: [{ message, extensions: { code, reason } }] });
    const { version, sha256Hash } = (persisted ?? {}) as { version?: unknown; sha256Hash?: unknown };
    if (version !== 1) {
      return refuse(
        200,
        'PERSISTED_QUERY_NOT_SUPPORTED',
        'PERSISTED_QUERY_VERSION',
        'PersistedQueryNotSupported: only version 1 of persisted queries is supported',
      );
    }
    if (typeof sha256Hash !== 'string' || !/^[0-9a-f]{64}$/.test(sha256Hash)) {
      return refuse(
        400,
        'BAD_REQUEST',
        'PERSISTED_QUERY_INVALID_HASH',
        'the persistedQuery extension needs sha256Hash: 64 lower-case hex digits',
      );
    }
    if (typeof query === 'string' && createHash('sha256').update(query).digest('hex') !== sha256Hash) {
      return refuse(400, 'BAD_REQUEST', 'PERSISTED_QUERY_HASH_MISMATCH', 'provided sha does not match query');
    }
    next();
  };
}

/** A GET request's `query` and `extensions` (JSON in the query string); undefined when unreadable. */
function fromQueryString(params: Record<string, unknown>): unknown {
  if (typeof params.extensions !== 'string') return params;
  try {
    return { query: params.query, extensions: JSON.parse(params.extensions) as unknown };
  } catch {
    return undefined; // Apollo answers a malformed extensions parameter itself
  }
}
