import { Writable } from 'node:stream';
import pino from 'pino';
import type { Client as WsClient } from 'graphql-ws';
import type { Logger } from '../../src/logger';
import type { GqlBody } from './app';

/**
 * Helpers for test/security: a logger whose lines the test reads back, the check that no error
 * in a response is INTERNAL, and one operation over a graphql-ws client with its result, its
 * errors or the code the socket was closed with.
 */

export interface CapturedLog {
  readonly log: Logger;
  /** Parsed JSON lines logged so far. */
  readonly lines: { level: number; msg?: string; [k: string]: unknown }[];
  /** Lines at error level (50) or above. */
  errors(): { level: number; msg?: string }[];
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines, errors: () => lines.filter((l) => l.level >= 50) };
}

/** Every error code of a response: none may be INTERNAL. */
export function codesOf(body: GqlBody<unknown>): string[] {
  return (body.errors ?? []).map((e) => String(e.extensions?.code));
}

export function expectNoInternal(body: GqlBody<unknown>): void {
  expect(codesOf(body)).not.toContain('INTERNAL');
}

export type WsOutcome =
  { kind: 'result'; data?: unknown; errors?: GqlBody<unknown>['errors'] } | { kind: 'closed'; code: number };

/**
 * Runs one query or mutation over the client: its result once the server completes it, the errors
 * it ended with, or the code the socket was closed with. It waits for the server's `complete`
 * rather than disposing on the first result: a dispose racing the server's complete makes the
 * graphql-ws client count its operation twice and close an idle socket (1000).
 */
export function wsOnce(
  client: WsClient,
  query: string,
  variables: Record<string, unknown> = {},
  timeoutMs = 10_000,
): Promise<WsOutcome> {
  return new Promise((resolve, reject) => {
    let result: WsOutcome | undefined;
    const timer = setTimeout(() => reject(new Error('no answer over WebSocket')), timeoutMs);
    const done = (outcome: WsOutcome) => {
      clearTimeout(timer);
      offClosed();
      resolve(outcome);
    };
    const offClosed = client.on('closed', (event) =>
      done({ kind: 'closed', code: (event as { code: number }).code }),
    );
    client.subscribe(
      { query, variables },
      {
        next: (value) => (result = { kind: 'result', data: value.data, errors: value.errors as never }),
        error: (error) => {
          if (Array.isArray(error)) done({ kind: 'result', errors: error as never });
          else if ((error as { code?: number }).code !== undefined)
            done({ kind: 'closed', code: (error as { code: number }).code });
          else reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
        },
        complete: () => (result ? done(result) : undefined),
      },
    );
  });
}
