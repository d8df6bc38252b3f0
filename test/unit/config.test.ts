import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, loadEnvFile, readerConnections } from '../../src/config';
import { DEFAULT_ENGINE_SETTINGS } from '../../src/domain/engine';

describe('loadConfig', () => {
  test('defaults: embedded database in ./.data, port 4000, in-process pub/sub, demo data on', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.database).toEqual({ kind: 'embedded', dataDir: path.resolve('./.data'), poolSize: 1 });
    expect(c.pubSub).toBe('memory');
    expect(c.seedDemo).toBe(true);
    expect(c.engine).toEqual(DEFAULT_ENGINE_SETTINGS);
    expect(c.engine).toMatchObject({
      windowMinutes: 30,
      skewMinutes: 2,
      holdMinutes: 30,
      maxCommsHubOffMinutes: 15,
      transitMinutes: 1,
      executedWindowMinutes: 3,
      verification: { enabled: true, timeoutMinutes: 2, attempts: 3 },
      clusterSize: 3,
      clusterMinutes: 10,
    });
  });

  test('DATABASE_URL selects real PostgreSQL with LISTEN/NOTIFY', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u@db:5432/x', AUTH_JWT_SECRET: 'x'.repeat(32) });
    // Reads may hold 6 of the 10 connections: 4 are kept for ingest and the background work.
    expect(c.database).toEqual({
      kind: 'postgres',
      url: 'postgres://u@db:5432/x',
      poolSize: 10,
      readerConnections: 6,
    });
    expect(c.pubSub).toBe('postgres');
  });

  test.each([
    [10, 4, 6],
    [10, 0, undefined],
    [4, 4, 1],
    [1, 4, undefined],
    [2, 1, 1],
  ])('a pool of %i with %i kept for writes lets reads hold %p', (pool, reserved, readers) => {
    expect(readerConnections(pool, reserved)).toBe(readers);
  });

  test.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ SEED_DEMO: 'maybe' }, 'SEED_DEMO'],
    [{ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET'],
    [{ WINDOW_MINUTES: '0' }, 'WINDOW_MINUTES'],
    [{ DATABASE_URL: 'postgres://u@db/x' }, 'AUTH_JWT_SECRET or AUTH_JWKS_URL is required'],
    [{ PUBSUB_MODE: 'postgres' }, 'PUBSUB_MODE=postgres needs DATABASE_URL'],
    [{ BUDGET_MAX_SHARE: '1.5' }, 'BUDGET_MAX_SHARE'],
    [{ HOLD_MINUTES: 'soon' }, 'HOLD_MINUTES'],
  ])('%j fails fast naming %s', (env, named) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(named);
  });

  test('engine settings come from the environment', () => {
    const c = loadConfig({ WINDOW_MINUTES: '45', BUDGET_MAX_PER_AREA: '4', REQUIRE_AREA_KEY: 'false' });
    expect(c.engine.windowMinutes).toBe(45);
    expect(c.engine.budget.maxSuppressionsPerArea).toBe(4);
    expect(c.engine.requireAreaKey).toBe(false);
  });

  test('empty strings count as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).database.kind).toBe('embedded');
  });
});

describe('CORS_ORIGINS', () => {
  test('unset: no origins, so no CORS headers at all', () => {
    expect(loadConfig({}).cors.origins).toEqual([]);
  });

  test('a comma-separated list of exact origins, trimmed and deduplicated', () => {
    const c = loadConfig({
      CORS_ORIGINS: ' https://console.example.com, http://localhost:3000 ,https://console.example.com',
    });
    expect(c.cors.origins).toEqual(['https://console.example.com', 'http://localhost:3000']);
  });

  test.each([
    'https://console.example.com/',
    'console.example.com',
    '*',
    'ftp://x.example',
    'https://a.example/path',
  ])('refuses %s, which could never match a browser Origin header', (value) => {
    expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(/CORS_ORIGINS/);
  });
});

describe('tracing (OTEL_*) and the federated trace', () => {
  test('off by default: no SDK; ftv1 served outside production only', () => {
    const c = loadConfig({});
    expect(c.tracing).toEqual({
      enabled: false,
      serviceName: 'poa-sieve',
      tracesUrl: 'http://localhost:4318/v1/traces',
      inlineTrace: true,
    });
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32) }).tracing.inlineTrace).toBe(
      false,
    );
    expect(
      loadConfig({ NODE_ENV: 'production', GRAPHQL_INLINE_TRACE: 'true', AUTH_JWT_SECRET: 'x'.repeat(32) })
        .tracing.inlineTrace,
    ).toBe(true);
    expect(loadConfig({ GRAPHQL_INLINE_TRACE: 'false' }).tracing.inlineTrace).toBe(false);
  });

  test('on with OTEL_TRACES_EXPORTER=otlp or an endpoint; the general endpoint gets /v1/traces', () => {
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing).toMatchObject({
      enabled: true,
      tracesUrl: 'http://localhost:4318/v1/traces',
    });
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_SERVICE_NAME: 'sieve-a' })
        .tracing,
    ).toMatchObject({ enabled: true, serviceName: 'sieve-a', tracesUrl: 'http://collector:4318/v1/traces' });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp',
      }).tracing.tracesUrl,
    ).toBe('https://traces.example.com/otlp');
  });

  test('OTEL_TRACES_EXPORTER=none and OTEL_SDK_DISABLED=true win over an endpoint', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(loadConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).tracing.enabled).toBe(false);
    expect(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).tracing.enabled).toBe(false);
  });

  test('what is not built in is refused, naming the variable', () => {
    for (const env of [
      { OTEL_TRACES_EXPORTER: 'jaeger' },
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      { GRAPHQL_INLINE_TRACE: 'maybe' },
    ]) {
      const [name] = Object.keys(env);
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(name);
    }
  });
});

describe('loadEnvFile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poa-env-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('loads the file, inline comments and all, without overriding what is already set', () => {
    const file = path.join(dir, '.env');
    fs.writeFileSync(
      file,
      '# a comment\nPORT=4001        # the port\nHOST=from-file\nAUTH_ISSUER="quoted value"\n',
    );
    const env: Record<string, string | undefined> = { HOST: 'from-environment' };
    expect(loadEnvFile(file, env)).toBe(file);
    expect(env).toEqual({ PORT: '4001', HOST: 'from-environment', AUTH_ISSUER: 'quoted value' });
  });

  test('a missing file is not an error: nothing is loaded', () => {
    const env = {};
    expect(loadEnvFile(path.join(dir, 'absent.env'), env)).toBeUndefined();
    expect(env).toEqual({});
  });

  test('.env.example, as Node parses it, is a valid configuration', () => {
    const env: Record<string, string | undefined> = {};
    loadEnvFile(path.join(__dirname, '..', '..', '.env.example'), env);
    expect(env.PORT).toBe('4000');
    expect(env.CORS_ORIGINS).toBe('');
    expect(() => loadConfig(env)).not.toThrow();
  });
});
