import { Writable } from 'node:stream';
import pino from 'pino';
import { ConfigError, loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';

/** No secret reaches a log line or a configuration error. */

describe('secrets in logs', () => {
  test('authorization, token, secret and password fields are printed as [redacted]', () => {
    const lines: string[] = [];
    const log = createLogger('info');
    // The service's own logger (its redaction settings), writing to a stream the test reads.
    (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    log.info(
      {
        authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.SECRET-TOKEN-1',
        token: 'SECRET-TOKEN-2',
        secret: 'SECRET-VALUE-3',
        password: 'SECRET-PASSWORD-4',
        headers: { authorization: 'Bearer SECRET-TOKEN-5' },
        connectionParams: { authorization: 'Bearer SECRET-TOKEN-6' },
        req: { token: 'SECRET-TOKEN-7', secret: 'SECRET-8' },
      },
      'a request',
    );
    log.child({ token: 'SECRET-TOKEN-9' }).warn('child logger');
    const text = lines.join('');
    expect(text).toContain('[redacted]');
    expect(text).not.toMatch(/SECRET-/);
  });

  test('configuration errors name the variable, never its value', () => {
    const cases: Record<string, string>[] = [
      { AUTH_JWT_SECRET: 'short-ZQ7-VALUE' },
      { DATABASE_URL: 'mysql://user:HUNTER2-ZQ7@db/x' },
      { DATABASE_URL: 'postgres://user:HUNTER2-ZQ7@db/x' },
      { AUTH_JWKS_URL: 'not a url ZQ7-JWKS' },
      { RATE_LIMIT_MUTATIONS_PER_MINUTE: '-1' },
      { MAX_BODY_BYTES: 'ZQ7-lots' },
    ];
    for (const env of cases) {
      let message = '';
      try {
        loadConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toMatch(/ZQ7|HUNTER2/);
      expect(message).toContain(
        Object.keys(env)[0] === 'DATABASE_URL' && env.DATABASE_URL.startsWith('postgres')
          ? 'AUTH_JWT_SECRET'
          : Object.keys(env)[0],
      );
    }
  });

  test('the security settings have their documented defaults and are validated', () => {
    const c = loadConfig({});
    expect(c.graphql).toMatchObject({
      maxDepth: 10,
      maxComplexity: 10_000,
      introspection: true,
      suggestions: true,
      federationSdl: true,
    });
    // Production hides the schema from strangers unless a setting says otherwise; gateways keep the SDL.
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32) }).graphql).toMatchObject({
      introspection: false,
      suggestions: false,
      federationSdl: true,
    });
    expect(
      loadConfig({
        NODE_ENV: 'production',
        AUTH_JWT_SECRET: 'x'.repeat(32),
        GRAPHQL_INTROSPECTION: 'true',
        GRAPHQL_SUGGESTIONS: 'true',
      }).graphql,
    ).toMatchObject({ introspection: true, suggestions: true });
    expect(c.http).toEqual({
      maxBodyBytes: 8 * 1024 * 1024,
      mutationsPerMinute: 600,
      queriesPerMinute: 1200,
    });
    expect(loadConfig({ RATE_LIMIT_MUTATIONS_PER_MINUTE: '0' }).http.mutationsPerMinute).toBe(0);
    expect(loadConfig({ GRAPHQL_INTROSPECTION: 'false' }).graphql.introspection).toBe(false);
    for (const env of [
      { GRAPHQL_MAX_DEPTH: '0' },
      { GRAPHQL_MAX_COMPLEXITY: 'lots' },
      { MAX_BODY_BYTES: '-5' },
    ]) {
      expect(() => loadConfig(env)).toThrow(Object.keys(env)[0]);
    }
  });
});
