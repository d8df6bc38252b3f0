import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { eventually, startTestApp, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { evidenceDeadline, guid, mpan, ok } from '../support/integration';

/**
 * OpenTelemetry tracing through the real HTTP and WebSocket server, spans collected in memory:
 * one AD1's trace from the ingest request (continuing the caller's traceparent) through its
 * decisions, the hold timer's verification request and the meter's answer minutes later, to the
 * DNO message and its delivery, whose traceparent the subscriber receives in `extensions`.
 * Also: POST /duis continues a traceparent, and Apollo's federated trace (ftv1) is served only
 * when asked for and only where allowed.
 */

const SUP = '90-B3-D5-1F-30-01-00-00';
const MINUTE = 60_000;
const OLD_VERSION = '0002012F';
const NEW_VERSION = '00020000';
const MODEL = '010A030B';
const CUT_MINUTES = 3;
const LINKED_FROM = '2026-01-01T00:00:00Z';
const P = {
  esme: guid('DE-00-00-00-00-71', 1),
  ch: guid('DE-00-00-00-00-72', 1),
  mpan: mpan(12, 7101),
  area: 'TRACE-1',
};
const IMAGE_HASH = crypto.createHash('sha256').update(`AB01/${MODEL}/${NEW_VERSION}`).digest('hex');
const AD1_XML = fs.readFileSync(path.resolve(__dirname, '../fixtures/duis/ad1-power-outage.xml'), 'utf8');

const hex = (bytes: number) => crypto.randomBytes(bytes).toString('hex');

interface Answer<T> {
  readonly data: T;
  readonly extensions?: { readonly ftv1?: string };
}
interface DnoEvent {
  readonly data?: { dnoAlerts: { sequence: string; kind: string; alert: { id: string } } };
  readonly extensions?: { readonly traceparent?: string };
}
const iso = (ms: number) => new Date(ms).toISOString();

describe('tracing: one trace follows an AD1 from ingest to the DNO', () => {
  const T0 = Date.parse('2026-05-04T10:00:00Z');
  const clock = new TestClock(new Date(T0));
  const exporter = new InMemorySpanExporter();
  let t: TestApp;
  let operator: string;

  const gql = async <T>(query: string, variables: Record<string, unknown> = {}, token = operator) =>
    ok((await t.gql<T>(query, variables, token)).body);
  /** POST /graphql with extra headers; the body and the response headers. */
  const post = async <T>(body: unknown, headers: Record<string, string>, url = t.url) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}`, ...headers },
      body: JSON.stringify(body),
    });
    return { headers: res.headers, body: (await res.json()) as Answer<T> };
  };
  const spans = () => exporter.getFinishedSpans();
  const named = (name: string, where: (s: ReadableSpan) => boolean = () => true) =>
    spans().filter((s) => s.name === name && where(s));
  /** The span once it has ended: a server span ends as its answer is written, maybe after the client has read it. */
  const ended = (name: string, where: (s: ReadableSpan) => boolean) =>
    eventually(async () => named(name, where)[0], 5_000, `span ${name}`);
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
  const idOf = (s: ReadableSpan) => s.spanContext().spanId;
  const traceOf = (s: ReadableSpan) => s.spanContext().traceId;

  beforeAll(async () => {
    t = await startTestApp(
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_SERVICE_NAME: 'poa-sieve-test', SCHEDULER_POLL_MS: '100' },
      clock,
      undefined,
      undefined,
      exporter,
    );
    operator = await t.token({ role: 'OPERATOR', ttlSeconds: 7 * 24 * 3600 });
    const supplier = await t.token({ role: 'IS', supplierId: SUP, ttlSeconds: 7 * 24 * 3600 });
    const device = { manufacturer: 'AB01', firmwareEffectiveFrom: LINKED_FROM, areaKey: P.area };
    await gql(`mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`, {
      d: [
        {
          ...device,
          guid: P.esme,
          deviceType: 'ESME',
          importSupplierId: SUP,
          model: MODEL,
          firmwareVersion: OLD_VERSION,
          mpan: P.mpan,
        },
        { ...device, guid: P.ch, deviceType: 'CHF', model: '0C0C0C0C', firmwareVersion: '00010001' },
      ],
    });
    await gql(
      `mutation { linkCommsHub(commsHubGuid: "${P.ch}", esmeGuid: "${P.esme}", effectiveFrom: "${LINKED_FROM}") { esmeGuid } }`,
    );
    await gql(`mutation ($i: FirmwareImageInput!) { registerFirmwareImage(image: $i) { id } }`, {
      i: { manufacturer: 'AB01', model: MODEL, version: NEW_VERSION, imageHash: IMAGE_HASH },
    });
    await gql(`mutation ($r: AffectedFirmwareRuleInput!) { upsertAffectedFirmwareRule(rule: $r) { id } }`, {
      r: {
        name: 'short cut',
        manufacturer: 'AB01',
        model: MODEL,
        affectedFirmwareVersions: [OLD_VERSION],
        maxCommsHubOffMinutes: CUT_MINUTES,
      },
    });
    await gql(
      `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { requestId } }`,
      { a: { requestId: `${SUP}:${P.esme}:1`, esmeGuid: P.esme, imageHash: IMAGE_HASH } },
      supplier,
    );
  });
  afterAll(() => t?.stop());

  test('ingest, hold, verification request, answer, DNO message: one trace, each span under its cause', async () => {
    const dno = await t.token({ role: 'ED', distributorIds: ['12'] });
    const events: DnoEvent[] = [];
    t.ws(dno).subscribe(
      { query: 'subscription { dnoAlerts { sequence kind alert { id } } }' },
      {
        next: (value) => void events.push(value as DnoEvent),
        error: () => undefined,
        complete: () => undefined,
      },
    );

    // The AD1 arrives with the caller's trace context; the answer names the server span.
    const traceId = hex(16);
    const callerSpan = hex(8);
    clock.set(new Date(T0 + 4 * MINUTE));
    const ingested = await post<{ ingestAlerts: { alertId: string; outcome: string; reason: string }[] }>(
      {
        query: 'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId outcome reason dueAt } }',
        variables: { a: [{ powerOutage: { commsHubGuid: P.ch, startAt: iso(T0 + MINUTE), mpan: P.mpan } }] },
      },
      { traceparent: `00-${traceId}-${callerSpan}-01` },
    );
    const [held] = ingested.body.data.ingestAlerts;
    expect(held).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
    const server = await ended('POST /graphql', (s) => traceOf(s) === traceId);
    expect(parentOf(server)).toBe(callerSpan);
    expect(server.attributes).toMatchObject({
      'poa.graphql.root_field': 'ingestAlerts',
      'graphql.operation.type': 'mutation',
    });
    expect(ingested.headers.get('traceresponse')).toBe(`00-${traceId}-${idOf(server)}-01`);
    const [transaction] = named('poa.ingest.transaction', (s) => traceOf(s) === traceId);
    expect(parentOf(transaction)).toBe(idOf(server));

    // The hold timer asks the meter: a pass of its own, yet the request is in the AD1's trace.
    clock.set(new Date(evidenceDeadline(T0 + MINUTE, T0 + 4 * MINUTE, CUT_MINUTES)));
    const request = await eventually(async () => {
      const { verificationRequests } = await gql<{
        verificationRequests: { requestId: string; alertId: string }[];
      }>('{ verificationRequests(first: 100) { requestId alertId } }');
      return verificationRequests.find((r) => r.alertId === held.alertId);
    });
    const [asked] = named('poa.verification.request', (s) => s.attributes['poa.alert.id'] === held.alertId);
    expect(traceOf(asked)).toBe(traceId);
    expect(parentOf(asked)).toBe(idOf(server));
    expect(asked.attributes['poa.verification.request_id']).toBe(request.requestId);

    // The DSP adapter answers later, in a trace of its own: the answer is applied in the AD1's.
    const adapterTrace = hex(16);
    clock.advance(MINUTE);
    const answered = await post<{ recordVerificationAnswer: { status: string } }>(
      {
        query: 'mutation ($i: VerificationAnswerInput!) { recordVerificationAnswer(input: $i) { status } }',
        variables: {
          i: {
            requestId: request.requestId,
            answeredAt: iso(clock.now().getTime() - 1000),
            firmwareVersion: OLD_VERSION,
          },
        },
      },
      { traceparent: `00-${adapterTrace}-${hex(8)}-01` },
    );
    expect(answered.body.data.recordVerificationAnswer.status).toBe('ANSWERED');
    const answerRequest = await ended('POST /graphql', (s) => traceOf(s) === adapterTrace);
    const [answer] = named('poa.verification.answer');
    expect(traceOf(answer)).toBe(traceId);
    expect(parentOf(answer)).toBe(idOf(asked));
    expect(answer.links.map((l) => l.context.spanId)).toEqual([idOf(answerRequest)]);

    // Each decision of the AD1 sits under what caused it: the ingest, the request (timer), the answer.
    const decisions = named('poa.alert.decide', (s) => s.attributes['poa.alert.id'] === held.alertId).sort(
      (x, y) => Number(x.attributes['poa.decision.revision']) - Number(y.attributes['poa.decision.revision']),
    );
    expect(
      decisions.map((d) => [d.attributes['poa.decision.reason'], d.attributes['poa.decision.trigger']]),
    ).toEqual([
      ['AWAITING_EVIDENCE', 'INGEST'],
      ['AWAITING_VERIFICATION', 'TIMER'],
      ['VERIFICATION_NOT_ACTIVATED', 'EVIDENCE'],
    ]);
    expect(decisions.every((d) => traceOf(d) === traceId)).toBe(true);
    expect(decisions.map(parentOf)).toEqual([idOf(transaction), idOf(server), idOf(answer)]);

    // The release is the DNO's AD1 message, published under its decision and delivered under that.
    await eventually(async () => (events.length ? true : undefined));
    const [event] = events;
    expect(event.data?.dnoAlerts).toMatchObject({ kind: 'AD1', alert: { id: held.alertId } });
    const [published] = named('poa.dno.publish', (s) => s.attributes['poa.alert.id'] === held.alertId);
    expect(parentOf(published)).toBe(idOf(decisions[2]));
    expect(published.attributes).toMatchObject({
      'poa.dno.distributor_id': '12',
      'poa.dno.sequence': event.data?.dnoAlerts.sequence,
      'poa.dno.message_kind': 'AD1',
    });
    const [delivered] = named('poa.dno.deliver', (s) => s.attributes['poa.alert.id'] === held.alertId);
    expect(parentOf(delivered)).toBe(idOf(published));
    expect(traceOf(delivered)).toBe(traceId);
    expect(event.extensions?.traceparent).toBe(`00-${traceId}-${idOf(delivered)}-01`);
    expect(spans().every((s) => s.resource.attributes['service.name'] === 'poa-sieve-test')).toBe(true);
  });

  test('POST /duis continues the caller’s trace, down to the AD1’s decision', async () => {
    clock.set(new Date(T0 + 60 * MINUTE));
    const startAt = iso(T0 + 58 * MINUTE).replace('.000Z', '.00Z');
    const xml = AD1_XML.replace('2030-01-15T09:00:30.00Z', startAt).replace(
      '2030-01-15T09:04:00.00Z',
      iso(T0 + 59 * MINUTE).replace('.000Z', '.00Z'),
    );
    const traceId = hex(16);
    const callerSpan = hex(8);
    const res = await fetch(`${t.url}/duis`, {
      method: 'POST',
      headers: {
        'content-type': 'application/xml',
        authorization: `Bearer ${operator}`,
        traceparent: `00-${traceId}-${callerSpan}-01`,
      },
      body: xml,
    });
    const body = (await res.json()) as { results: { alertId: string }[] };
    expect(res.status).toBe(200);
    const server = await ended('POST /duis', (s) => traceOf(s) === traceId);
    expect(parentOf(server)).toBe(callerSpan);
    expect(server.attributes['http.response.status_code']).toBe(200);
    expect(res.headers.get('traceresponse')).toBe(`00-${traceId}-${idOf(server)}-01`);
    const [decided] = named(
      'poa.alert.decide',
      (s) => s.attributes['poa.alert.id'] === body.results[0].alertId,
    );
    expect(traceOf(decided)).toBe(traceId);
  });

  test('a router asking for the federated trace gets extensions.ftv1; nobody else does', async () => {
    const query = { query: '{ networkOperators { distributorId } }' };
    const ftv1 = { 'apollo-federation-include-trace': 'ftv1' };
    expect((await post(query, ftv1)).body.extensions?.ftv1).toEqual(expect.any(String));
    expect((await post(query, {})).body.extensions?.ftv1).toBeUndefined();
    // Where GRAPHQL_INLINE_TRACE is false (the production default), the header is ignored.
    const quiet = await startTestApp({ GRAPHQL_INLINE_TRACE: 'false' }, clock, t.db);
    try {
      const res = await post<{ networkOperators: unknown[] }>(query, ftv1, quiet.url);
      expect(res.body.data.networkOperators.length).toBeGreaterThan(0);
      expect(res.body.extensions?.ftv1).toBeUndefined();
      // Its configuration has tracing off: no server span, so no traceresponse.
      expect(res.headers.get('traceresponse')).toBeNull();
    } finally {
      await quiet.stopServerOnly();
    }
  });
});
