import { getIntrospectionQuery } from 'graphql';
import { connected, startTestApp, subscribe } from '../support/app';
import type { GqlBody, TestApp } from '../support/app';
import { BACKEND } from '../support/database';
import { expectError, guid, mpan, ok, rowCounts } from '../support/integration';

/**
 * Hostile requests against the limits: query depth and cost (HTTP and WebSocket), request body
 * size and shape, the mutation rate limit, introspection on and off, GraphQL's own parse and
 * validation failures, and an internal error that must not leak its SQL or stack.
 */

const DEEP_CHAIN = (levels: number): string => {
  // devices { nodes { activations { device { activations { device ... { guid } } } } } }
  let inner = 'guid';
  for (let i = 0; i < levels; i++) inner = i % 2 === 0 ? `device { ${inner} }` : `activations { ${inner} }`;
  return `{ devices(first: 1) { nodes { activations { ${inner} } } } }`;
};

/** Every scalar field of Device and a few relations: about 20 fields a node. */
const WIDE_DEVICE = `guid deviceType manufacturer model firmwareVersion smiStatus mpan distributorId areaKey cspRegion updatedAt
  networkOperator { distributorId name area kind } firmwareHistory { firmwareVersion effectiveFrom source }
  commsHubLinks { commsHubGuid esmeGuid effectiveFrom effectiveTo }`;

const SQL_WORDS =
  /\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|relation|does not exist|syntax error|QueryFailedError)\b/i;

/** Every key anywhere in a JSON value. */
function keysOf(value: unknown, out = new Set<string>()): Set<string> {
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      keysOf(v, out);
    }
  }
  return out;
}

async function post(t: TestApp, body: string, token?: string, contentType = 'application/json') {
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as GqlBody<unknown> };
}

describe('query limits, body limits and error hygiene (default settings)', () => {
  let t: TestApp;
  let operator: string;
  let dno: string;

  beforeAll(async () => {
    t = await startTestApp();
    operator = await t.token({ role: 'OPERATOR' });
    dno = await t.token({ role: 'ED', distributorIds: ['12'] });
    ok(
      (
        await t.gql(
          `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`,
          { d: [{ guid: guid('5E-00-00-00-00-01', 1), deviceType: 'ESME', mpan: mpan(12, 1) }] },
          operator,
        )
      ).body,
    );
  });
  afterAll(() => t?.stop());

  test('a query nested deeper than GRAPHQL_MAX_DEPTH (10) is QUERY_TOO_COMPLEX / DEPTH, HTTP 400, and nothing runs', async () => {
    const legit = await t.gql(DEEP_CHAIN(7), {}, operator); // depth 10: allowed
    expect(legit.status).toBe(200);
    ok(legit.body);
    const deep = await t.gql(DEEP_CHAIN(9), {}, operator); // depth 12
    expect(deep.status).toBe(400);
    const ext = expectError(deep.body, 'QUERY_TOO_COMPLEX', 'DEPTH');
    expect(ext).toMatchObject({ limit: 10, depth: 12 });
    expect(deep.body.data).toBeUndefined();
    // A fragment does not hide depth.
    const viaFragment = await t.gql(
      `query { devices(first: 1) { nodes { ...A } } }
       fragment A on Device { activations { device { activations { device { activations { device { activations { device { activations { device { guid } } } } } } } } } } }`,
      {},
      operator,
    );
    expectError(viaFragment.body, 'QUERY_TOO_COMPLEX', 'DEPTH');
  });

  test('the deepest queries the README and the tests use, introspection and the federation SDL pass', async () => {
    ok((await t.gql(getIntrospectionQuery({ descriptions: true }))).body);
    ok((await t.gql('{ _service { sdl } }')).body);
    ok(
      (
        await t.gql(
          `{ devices(first: 5) { nodes { guid deviceType model firmwareVersion mpan areaKey networkOperator { name }
             commsHubLinks { commsHubGuid effectiveFrom } activations { id status image { version } rule { name } } }
             pageInfo { endCursor hasNextPage } } }`,
          {},
          dno,
        )
      ).body,
    );
    ok(
      (
        await t.gql(
          `{ alerts(first: 500) { nodes { id decision { revision outcome evidence } decisionHistory { revision outcome }
             pairedAlert { id decision { outcome } } networkOperator { name } } } }`,
          {},
          operator,
        )
      ).body,
    );
  });

  test('a costly query is QUERY_TOO_COMPLEX / COMPLEXITY with its cost and the limit; a smaller page of it passes', async () => {
    const costly = await t.gql(`{ devices(first: 500) { nodes { ${WIDE_DEVICE} } } }`, {}, operator);
    expect(costly.status).toBe(400);
    const ext = expectError(costly.body, 'QUERY_TOO_COMPLEX', 'COMPLEXITY');
    expect(ext.limit).toBe(10_000);
    expect(ext.cost).toBeGreaterThan(10_000);
    ok((await t.gql(`{ devices(first: 100) { nodes { ${WIDE_DEVICE} } } }`, {}, operator)).body);
    // The page size from a variable counts the same.
    const viaVariable = await t.gql(
      `query ($n: Int) { devices(first: $n) { nodes { ${WIDE_DEVICE} } } }`,
      { n: 500 },
      operator,
    );
    expectError(viaVariable.body, 'QUERY_TOO_COMPLEX', 'COMPLEXITY');
    // Aliases do not multiply for free: 30 aliased pages of 50 cost 30 times one.
    const aliased = Array.from(
      { length: 30 },
      (_, i) => `p${i}: devices(first: 50) { nodes { ${WIDE_DEVICE} } }`,
    );
    expectError(
      (await t.gql(`{ ${aliased.join('\n')} }`, {}, operator)).body,
      'QUERY_TOO_COMPLEX',
      'COMPLEXITY',
    );
    // A huge `first` is the service's INVALID_PAGE_SIZE, not a cost.
    expectError(
      (await t.gql(`{ devices(first: 1000000) { nodes { guid } } }`, {}, operator)).body,
      'BAD_USER_INPUT',
      'INVALID_PAGE_SIZE',
    );
    // Federation references in bulk are priced per representation.
    const representations = Array.from({ length: 2000 }, (_, i) => ({
      __typename: 'Device',
      guid: guid('5E-00-00-00-00-02', i),
    }));
    const entities = await t.gql(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Device { ${WIDE_DEVICE} } } }`,
      { r: representations },
      operator,
    );
    expectError(entities.body, 'QUERY_TOO_COMPLEX', 'COMPLEXITY');
  });

  test('a too-deep or too-costly mutation is refused before it runs: nothing is written', async () => {
    const before = await rowCounts(t, 'device');
    const costly = `mutation ($d: [DeviceInput!]!) { ${Array.from(
      { length: 10_001 },
      (_, i) => `m${i}: upsertDevices(devices: $d) { inserted }`,
    ).join(' ')} }`;
    const res = await t.gql(
      costly,
      { d: [{ guid: guid('5E-00-00-00-00-03', 1), deviceType: 'ESME', mpan: mpan(12, 3) }] },
      operator,
    );
    expect(res.status).toBe(400);
    expectError(res.body, 'QUERY_TOO_COMPLEX', 'COMPLEXITY');
    expect(await rowCounts(t, 'device')).toEqual(before);
  });

  test('the same limits apply to WebSocket operations', async () => {
    const client = t.ws(operator);
    await connected(client);
    const deep = subscribe(
      client,
      `subscription { dnoAlerts(distributorId: "12") { alert { pairedAlert { pairedAlert { pairedAlert { pairedAlert {
         pairedAlert { pairedAlert { pairedAlert { pairedAlert { pairedAlert { id } } } } } } } } } } } }`,
    );
    await expect(deep.waitFor(1, 5000)).rejects.toBeTruthy();
    expect((deep.error as { extensions?: Record<string, unknown> }[])[0].extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      reason: 'DEPTH',
      limit: 10,
    });
    const costly = subscribe(client, `query { devices(first: 500) { nodes { ${WIDE_DEVICE} } } }`);
    await expect(costly.waitFor(1, 5000)).rejects.toBeTruthy();
    expect((costly.error as { extensions?: Record<string, unknown> }[])[0].extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      reason: 'COMPLEXITY',
    });
    // GraphQL's own failures have the same code over WebSocket as over HTTP (they used to be INTERNAL).
    const invalid = subscribe(client, `subscription { noSuchField }`);
    await expect(invalid.waitFor(1, 5000)).rejects.toBeTruthy();
    expect((invalid.error as { extensions?: Record<string, unknown> }[])[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'GRAPHQL_VALIDATION_FAILED',
    });
  });

  test('parse and validation failures are BAD_USER_INPUT with Apollo’s code as the reason, HTTP 400', async () => {
    const parse = await t.gql('{ devices( ', {}, operator);
    expect(parse.status).toBe(400);
    expectError(parse.body, 'BAD_USER_INPUT', 'GRAPHQL_PARSE_FAILED');
    const invalid = await t.gql('{ noSuchField }', {}, operator);
    expect(invalid.status).toBe(400);
    expectError(invalid.body, 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED');
    const literal = await t.gql('{ device(guid: "not-a-guid") { guid } }', {}, operator);
    expect(literal.status).toBe(400);
    expectError(literal.body, 'BAD_USER_INPUT', 'INVALID_EUI64');
    const variable = await t.gql('query ($g: EUI64!) { device(guid: $g) { guid } }', { g: 42 }, operator);
    expectError(variable.body, 'BAD_USER_INPUT', 'INVALID_EUI64');
    const noQuery = await post(t, JSON.stringify({ variables: {} }), operator);
    expect(noQuery.status).toBe(400);
    expectError(noQuery.body, 'BAD_USER_INPUT', 'BAD_REQUEST');
  });

  test('a body over MAX_BODY_BYTES (8 MiB) is 413 BODY_TOO_LARGE; a body that is not JSON is 400 INVALID_JSON', async () => {
    const before = await rowCounts(t, 'device');
    const huge = JSON.stringify({
      query: 'mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }',
      variables: {
        d: [{ guid: guid('5E-00-00-00-00-04', 1), deviceType: 'ESME', areaKey: 'x'.repeat(9 * 1024 * 1024) }],
      },
    });
    const tooLarge = await post(t, huge, operator);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get('content-type')).toMatch(/json/);
    const ext = expectError(tooLarge.body, 'BAD_USER_INPUT', 'BODY_TOO_LARGE');
    expect(ext.limit).toBe(8 * 1024 * 1024);
    const notJson = await post(t, '{"query": "{ networkOperators { name } }"', operator);
    expect(notJson.status).toBe(400);
    expectError(notJson.body, 'BAD_USER_INPUT', 'INVALID_JSON');
    expect(await rowCounts(t, 'device')).toEqual(before);
  });

  test('oversized batches are BATCH_TOO_LARGE with the limit, and write nothing', async () => {
    // A principal of its own: the tests above spent the operator's mutation budget.
    const operator = await t.token({ role: 'OPERATOR', subject: 'batch-sender' });
    const before = await rowCounts(t, 'device', 'alert', 'firmware_activation');
    const ad1 = (i: number) => ({
      powerOutage: {
        commsHubGuid: guid('5E-00-00-00-00-05', i),
        startAt: '2026-01-01T00:00:00Z',
        mpan: mpan(12, i),
      },
    });
    const ingest = await t.gql(
      'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }',
      { a: Array.from({ length: 1001 }, (_, i) => ad1(i)) },
      operator,
    );
    expect(expectError(ingest.body, 'BAD_USER_INPUT', 'BATCH_TOO_LARGE').limit).toBe(1000);
    const devices = await t.gql(
      'mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }',
      {
        d: Array.from({ length: 10_001 }, (_, i) => ({
          guid: guid('5E-00-00-00-00-06', i),
          deviceType: 'IHD',
        })),
      },
      operator,
    );
    expect(expectError(devices.body, 'BAD_USER_INPUT', 'BATCH_TOO_LARGE').limit).toBe(10_000);
    const supplier = await t.token({ role: 'IS', supplierId: '90-B3-D5-1F-30-01-00-00' });
    const campaign = await t.gql(
      `mutation ($c: ActivationCampaignInput!) { scheduleActivationCampaign(campaign: $c) { campaignId } }`,
      {
        c: {
          esmeGuids: Array.from({ length: 10_001 }, (_, i) => guid('5E-00-00-00-00-07', i)),
          imageHash: 'c0ffee00'.repeat(8),
          // A month ahead: within the plausible range of input dates.
          from: new Date(Date.now() + 30 * 24 * 3600_000).toISOString(),
          to: new Date(Date.now() + 31 * 24 * 3600_000).toISOString(),
          maxPerAreaPerHour: 1,
          firstCounter: '1',
        },
      },
      supplier,
    );
    expect(expectError(campaign.body, 'BAD_USER_INPUT', 'BATCH_TOO_LARGE').limit).toBe(10_000);
    expect(await rowCounts(t, 'device', 'alert', 'firmware_activation')).toEqual(before);
  });

  test('a forged pagination cursor is INVALID_CURSOR, never a failed SQL statement', async () => {
    const forge = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    for (const [query, cursor] of [
      ['alerts', forge(["'; DROP TABLE alert;--", '1'])],
      ['alerts', forge(['2026-01-01T00:00:00.000Z', '1 OR 1=1'])],
      ['alerts', forge(['2026-99-99T00:00:00.000Z', '1'])],
      ['activations', forge(['2026-01-01T00:00:00.000Z', 'not-a-uuid'])],
      ['devices', forge(["' OR ''='"])],
    ] as const) {
      const res = await t.gql(
        `query ($a: String) { ${query}(after: $a) { nodes { __typename } } }`,
        { a: cursor },
        operator,
      );
      expectError(res.body, 'BAD_USER_INPUT', 'INVALID_CURSOR');
    }
  });

  test('an internal error says only "Internal server error": no stack trace, no SQL', async () => {
    await t.app.dataSource.query('ALTER TABLE network_operator RENAME TO network_operator_away');
    try {
      const res = await t.gql('{ networkOperators { distributorId name } }');
      const error = expectError(res.body, 'INTERNAL');
      expect(Object.keys(error)).toEqual(['code']);
      expect(res.body.errors?.[0].message).toBe('Internal server error');
      const text = JSON.stringify(res.body);
      expect(keysOf(res.body).has('stacktrace')).toBe(false);
      expect(text).not.toMatch(SQL_WORDS);
      expect(text).not.toMatch(/network_operator/);
      // The same over WebSocket.
      const client = t.ws(operator);
      await connected(client);
      const viaWs = subscribe(client, '{ networkOperators { name } }');
      await expect(viaWs.waitFor(1, 5000)).rejects.toBeTruthy();
      const wsText = JSON.stringify(viaWs.error);
      expect(wsText).toContain('Internal server error');
      expect(wsText).not.toMatch(SQL_WORDS);
      expect(wsText).not.toMatch(/stacktrace/);
    } finally {
      await t.app.dataSource.query('ALTER TABLE network_operator_away RENAME TO network_operator');
    }
    ok((await t.gql('{ networkOperators { distributorId } }')).body);
  });
});

describe('mutation rate limit and introspection off', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      RATE_LIMIT_MUTATIONS_PER_MINUTE: '3',
      GRAPHQL_INTROSPECTION: 'false',
      GRAPHQL_SUGGESTIONS: 'false',
    });
  });
  afterAll(() => t?.stop());

  const ACK = `mutation { setDeliveryPreference(distributorId: "12", preference: PAIR) { preference } }`;

  test('the 4th mutation in a minute is RATE_LIMITED (429, Retry-After); other principals and queries are unaffected', async () => {
    const op = await t.token({ role: 'OPERATOR', subject: 'busy-operator' });
    for (let i = 0; i < 3; i++) ok((await t.gql(ACK, {}, op)).body);
    const limited = await post(t, JSON.stringify({ query: ACK }), op);
    expect(limited.status).toBe(429);
    const ext = expectError(limited.body, 'RATE_LIMITED');
    expect(ext.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(ext.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(ext.limit).toBe(3);
    expect(Number(limited.headers.get('retry-after'))).toBe(ext.retryAfterSeconds);
    // Queries are not counted; another subject has its own budget; the same subject's ED token too.
    ok((await t.gql('{ dnoDeliveryStatus(distributorId: "12") { preference } }', {}, op)).body);
    ok((await t.gql(ACK, {}, await t.token({ role: 'OPERATOR', subject: 'other-operator' }))).body);
    // Over WebSocket the budget is the same one.
    const client = t.ws(op);
    await connected(client);
    const viaWs = subscribe(client, ACK);
    await expect(viaWs.waitFor(1, 5000)).rejects.toBeTruthy();
    expect((viaWs.error as { extensions?: Record<string, unknown> }[])[0].extensions).toMatchObject({
      code: 'RATE_LIMITED',
    });
  });

  test('callers without a token are limited by IP address (and still get UNAUTHENTICATED until then)', async () => {
    for (let i = 0; i < 3; i++) expectError((await t.gql(ACK)).body, 'UNAUTHENTICATED');
    const limited = await t.gql(ACK);
    expect(limited.status).toBe(429);
    expectError(limited.body, 'RATE_LIMITED');
  });

  test('GRAPHQL_INTROSPECTION=false refuses __schema, GRAPHQL_SUGGESTIONS=false drops "Did you mean", over HTTP and WebSocket; _service stays for gateways', async () => {
    const res = await t.gql('{ __schema { types { name } } }');
    expect(res.status).toBe(400);
    expectError(res.body, 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED');
    const op = await t.token({ role: 'OPERATOR', subject: 'introspecting' });
    const client = t.ws(op);
    await connected(client);
    const viaWs = subscribe(client, '{ __schema { types { name } } }');
    await expect(viaWs.waitFor(1, 5000)).rejects.toBeTruthy();
    expect((viaWs.error as { extensions?: Record<string, unknown> }[])[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'GRAPHQL_VALIDATION_FAILED',
    });
    // A gateway composes from the federation SDL: it is answered whatever introspection says
    // (GRAPHQL_FEDERATION_SDL=false refuses it: test/security/schema-exposure).
    for (const token of [undefined, op]) {
      const sdl = await t.gql('{ _service { sdl } }', {}, token);
      expect(sdl.status).toBe(200);
      expect(JSON.stringify(sdl.body)).toContain('type Query');
    }
    // A misspelt field is refused without naming the real one.
    const typo = await t.gql('{ networkOperator { distributorId } }');
    expectError(typo.body, 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(typo.body)).not.toMatch(/Did you mean|networkOperators/);
    const typoWs = subscribe(client, '{ networkOperator { distributorId } }');
    await expect(typoWs.waitFor(1, 5000)).rejects.toBeTruthy();
    expect(JSON.stringify(typoWs.error)).toContain('Cannot query field');
    expect(JSON.stringify(typoWs.error)).not.toMatch(/Did you mean|networkOperators/);
    ok((await t.gql('{ __typename }')).body);
  });

  test('with introspection on (the default elsewhere), suggestions and the SDL are served', async () => {
    const on = await startTestApp();
    try {
      ok((await on.gql('{ _service { sdl } }')).body);
      expect(JSON.stringify((await on.gql('{ networkOperator { distributorId } }')).body)).toContain(
        'Did you mean',
      );
    } finally {
      await on.stop();
    }
  });
});

describe('budgets count work: each mutation field, and reads too', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_MUTATIONS_PER_MINUTE: '5', RATE_LIMIT_QUERIES_PER_MINUTE: '4' });
  });
  afterAll(() => t?.stop());

  test('2,000 aliased mutation fields in one request cost 2,000 points: RATE_LIMITED, nothing written', async () => {
    const dno = await t.token({ role: 'ED', distributorIds: ['12'], subject: 'aliasing-dno' });
    const before = await t.app.dataSource.query('SELECT count(*)::int AS n FROM delivery_preference');
    const aliased = Array.from(
      { length: 2000 },
      (_, i) => `a${i}: setDeliveryPreference(distributorId: "12", preference: PAIR) { preference }`,
    ).join('\n');
    const res = await post(t, JSON.stringify({ query: `mutation { ${aliased} }` }), dno);
    expect(res.status).toBe(429);
    expect(expectError(res.body, 'RATE_LIMITED').limit).toBe(5);
    expect(await t.app.dataSource.query('SELECT count(*)::int AS n FROM delivery_preference')).toEqual(
      before,
    );
    // Within budget, five fields in one request pass; the next field does not.
    const five = Array.from(
      { length: 5 },
      (_, i) => `b${i}: setDeliveryPreference(distributorId: "12", preference: PAIR) { preference }`,
    );
    const other = await t.token({ role: 'ED', distributorIds: ['12'], subject: 'five-fields' });
    ok((await t.gql(`mutation { ${five.join('\n')} }`, {}, other)).body);
    expectError((await t.gql(`mutation { ${five[0]} }`, {}, other)).body, 'RATE_LIMITED');
  });

  test('queries and subscription starts draw on the read budget, per principal, on both transports', async () => {
    const reader = await t.token({ role: 'OPERATOR', subject: 'busy-reader' });
    for (let i = 0; i < 3; i++) ok((await t.gql('{ networkOperators { name } }', {}, reader)).body);
    const client = t.ws(reader);
    await connected(client);
    const fourth = subscribe(client, 'subscription { inventoryChanged { count } }');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fourth.error).toBeUndefined(); // the 4th read: a subscription start, within budget
    fourth.dispose();
    const limited = await post(t, JSON.stringify({ query: '{ networkOperators { name } }' }), reader);
    expect(limited.status).toBe(429);
    expectError(limited.body, 'RATE_LIMITED');
    const viaWs = subscribe(client, '{ networkOperators { name } }');
    await expect(viaWs.waitFor(1, 5000)).rejects.toBeTruthy();
    expect((viaWs.error as { extensions?: Record<string, unknown> }[])[0].extensions).toMatchObject({
      code: 'RATE_LIMITED',
    });
    // Another principal has its own budget.
    ok(
      (
        await t.gql(
          '{ networkOperators { name } }',
          {},
          await t.token({ role: 'OPERATOR', subject: 'calm-reader' }),
        )
      ).body,
    );
  });

  (BACKEND === 'postgres' ? test : test.skip)(
    'two instances on one PostgreSQL share the budget (the counters are in the database)',
    async () => {
      const second = await startTestApp(
        { RATE_LIMIT_MUTATIONS_PER_MINUTE: '5', RATE_LIMIT_QUERIES_PER_MINUTE: '4' },
        undefined,
        t.db,
      );
      try {
        const reader = await t.token({ role: 'OPERATOR', subject: 'two-instance-reader' });
        for (let i = 0; i < 2; i++) ok((await t.gql('{ networkOperators { name } }', {}, reader)).body);
        for (let i = 0; i < 2; i++) ok((await second.gql('{ networkOperators { name } }', {}, reader)).body);
        expectError((await second.gql('{ networkOperators { name } }', {}, reader)).body, 'RATE_LIMITED');
        expectError((await t.gql('{ networkOperators { name } }', {}, reader)).body, 'RATE_LIMITED');
      } finally {
        await second.stop();
      }
    },
  );
});
