import { getIntrospectionQuery } from 'graphql';
import { connected, startTestApp } from '../support/app';
import type { GqlBody, TestApp } from '../support/app';
import { expectError } from '../support/integration';
import { expectNoInternal, wsOnce } from '../support/security';
import type { WsOutcome } from '../support/security';

/**
 * What a stranger learns of the schema from a production server: no introspection and no
 * "Did you mean ...?" hints unless a setting turns them on, over HTTP and WebSocket alike, while
 * federation's `_service { sdl }` keeps answering gateways. A development server keeps them all.
 */

const TYPO = '{ networkOperator { distributorId } }';
const errorsOf = (outcome: WsOutcome) => (outcome.kind === 'result' ? (outcome.errors ?? []) : []);

describe('NODE_ENV=production, no GRAPHQL_* settings', () => {
  let t: TestApp;
  let operator: string;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'production' });
    operator = await t.token({ role: 'OPERATOR' });
  });
  afterAll(() => t?.stop());

  test('introspection is refused over HTTP (anonymous or not) and WebSocket', async () => {
    for (const token of [undefined, operator]) {
      for (const query of [
        '{ __schema { types { name } } }',
        '{ __type(name: "Device") { fields { name } } }',
      ]) {
        const res = await t.gql(query, {}, token);
        expect(res.status).toBe(400);
        expectError(res.body, 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED');
        expect(JSON.stringify(res.body)).not.toContain('commsHub');
      }
    }
    const client = t.ws(operator);
    await connected(client);
    const viaWs = errorsOf(await wsOnce(client, getIntrospectionQuery()));
    expect(viaWs[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'GRAPHQL_VALIDATION_FAILED',
    });
  });

  test('a misspelt field or argument is refused without naming the real one, over HTTP and WebSocket', async () => {
    for (const query of [TYPO, '{ devices(frist: 1) { nodes { guid } } }', '{ devices { nodes { gui } } }']) {
      const res = await t.gql(query, {}, operator);
      expectError(res.body, 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED');
      expectNoInternal(res.body);
      expect(JSON.stringify(res.body)).not.toMatch(/Did you mean|networkOperators|"first"|"guid"/);
    }
    const client = t.ws(operator);
    await connected(client);
    const viaWs = errorsOf(await wsOnce(client, TYPO));
    expect(JSON.stringify(viaWs)).toContain('Cannot query field');
    expect(JSON.stringify(viaWs)).not.toMatch(/Did you mean|networkOperators/);
  });

  test('a misspelt enum value or input field in variables is refused without naming the real one, over HTTP and WebSocket', async () => {
    const cases = [
      {
        query:
          'mutation ($p: DeliveryPreference!) { setDeliveryPreference(distributorId: "12", preference: $p) { preference } }',
        variables: { p: 'PAIRR' },
        hint: /"PAIR"|Did you mean/,
      },
      {
        query: 'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }',
        variables: { a: [{ powerOutag: { commsHubGuid: 'x' } }] },
        hint: /"powerOutage"|Did you mean/,
      },
    ];
    const client = t.ws(operator);
    await connected(client);
    for (const { query, variables, hint } of cases) {
      const res = await t.gql(query, variables, operator);
      expectError(res.body, 'BAD_USER_INPUT', 'INVALID_VARIABLES');
      expect(JSON.stringify(res.body)).not.toMatch(hint);
      const viaWs = errorsOf(await wsOnce(client, query, variables));
      expect(viaWs[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_VARIABLES' });
      expect(JSON.stringify(viaWs)).not.toMatch(hint);
    }
  });

  test('federation `_service { sdl }` still answers, as a gateway asks for it', async () => {
    const res = await t.gql<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(res.status).toBe(200);
    expect(res.body.data?._service.sdl).toContain('type Device');
  });
});

describe('production with settings', () => {
  test('GRAPHQL_INTROSPECTION and GRAPHQL_SUGGESTIONS turn them back on; GRAPHQL_FEDERATION_SDL=false refuses the SDL', async () => {
    const t = await startTestApp({
      NODE_ENV: 'production',
      GRAPHQL_INTROSPECTION: 'true',
      GRAPHQL_SUGGESTIONS: 'true',
      GRAPHQL_FEDERATION_SDL: 'false',
    });
    try {
      expect((await t.gql(getIntrospectionQuery())).body.errors).toBeUndefined();
      expect(JSON.stringify((await t.gql(TYPO)).body)).toContain('Did you mean');
      const enumTypo = await t.gql(
        'mutation ($p: DeliveryPreference!) { setDeliveryPreference(preference: $p) { preference } }',
        { p: 'PAIRR' },
        await t.token({ role: 'OPERATOR' }),
      );
      expect(JSON.stringify(enumTypo.body)).toContain('Did you mean the enum value \\"PAIR\\"');
      const sdl = await t.gql('{ _service { sdl } }');
      expect(sdl.status).toBe(400);
      expectError(sdl.body as GqlBody<unknown>, 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED');
    } finally {
      await t.stop();
    }
  });
});

describe('development (GraphiQL)', () => {
  test('introspection, suggestions and the SDL are all served', async () => {
    const t = await startTestApp({ NODE_ENV: 'development' });
    try {
      expect((await t.gql(getIntrospectionQuery({ descriptions: true }))).body.errors).toBeUndefined();
      expect(JSON.stringify((await t.gql(TYPO)).body)).toContain('Did you mean');
      expect((await t.gql('{ _service { sdl } }')).body.errors).toBeUndefined();
    } finally {
      await t.stop();
    }
  });
});
