import { performance } from 'node:perf_hooks';
import { mintToken } from '../auth/tokens';
import { loadConfig } from '../config';
import {
  anchorScenario,
  fitServerClock,
  liveRequestId,
  realWhen,
  requestCounterBase,
  scenarioAt,
  serverAt,
  toServer,
  tokenTimes,
} from './anchor';
import type { ClockSample, ServerClock, TimeAnchor } from './anchor';
import { DnoSubscriber } from './dno-subscriber';
import { findings, withdrawnFindings } from './index';
import type { Finding } from './index';
import { GraphQLHttpClient, MUTATIONS, alertInput, isAlertEvent } from './live-api';
import type { LiveMapping, RequestCounters } from './live-api';
import { CausalQueue } from './live-causality';
import { SupplierLane } from './supplier-lane';
import type { CausalityReport } from './live-causality';
import { liveScores, oursFromReceived } from './live-score';
import type { LiveEngineSettings, ReceivedMessage } from './live-score';
import { Prng } from './prng';
import type { Ad1Decision } from './replay';
import { SIM_IMAGES, SIM_MODELS, SIM_RULE, SIM_SUPPLIER_ID, generateScenario, iso } from './scenario';
import { describeScenarioFacts } from './scenario-facts';
import type { Scenario, ScenarioOptions, SimEvent } from './scenario';
import { evidenceMinutesOf, outcomeMissingKeys, percentile } from './scoreboard';
import type { PolicyDeliveries, PolicyScore } from './scoreboard';
import { spawnServer } from './spawn';
import { VerificationResponder, verificationHead } from './verification-responder';
import type { SpawnedServer } from './spawn';

/**
 * Live mode: drives a running server end to end through its public API only. As the DSP it loads
 * the inventory, images and rule, then sends every scenario event when the server's clock reaches
 * it (SR11.3 activations and outcomes as the supplier, alerts in ingestAlerts batches as the
 * operator, hub swaps); as each DNO it holds a graphql-ws subscription to dnoAlerts, records what
 * arrives and when, acknowledges, and resumes with `after` whenever its connection drops (it also
 * drops it on purpose). "Ours" on the scoreboard is what the DNOs received; the other two
 * policies come from the scenario, as in replay. Time handling: see anchor.ts and the README.
 */

export interface LiveOptions {
  /** Base URL of a running server; ignored with spawn. */
  readonly url?: string;
  /** The server's AUTH_JWT_SECRET, to mint tokens; ignored with spawn. */
  readonly tokenSecret?: string;
  readonly tokenIssuer?: string;
  readonly tokenAudience?: string;
  /** Server clock ms per real ms; more than 1 needs a server started with CLOCK_SPEED (or spawn). */
  readonly speed: number;
  /** Start the server as a child process (embedded PGlite in a temporary folder, or databaseUrl). */
  readonly spawn?: boolean;
  readonly databaseUrl?: string;
  /** Service settings: given to a spawned server, and the engine bounds the scoring assumes. */
  readonly env?: Record<string, string>;
  /** Most alerts per ingestAlerts call (default 500, never more than the server's MAX_INGEST_BATCH). */
  readonly batchMax?: number;
  /** Forced disconnects per DNO during the run, at seeded times (default 1). */
  readonly dropsPerDno?: number;
  readonly onProgress?: (done: number, total: number, phase: string) => void;
}

export interface LiveReport {
  readonly mode: 'live';
  readonly scenario: Record<string, unknown> & { options: ScenarioOptions };
  readonly server: {
    readonly url: string;
    readonly spawned: boolean;
    readonly backend: 'pglite' | 'postgres' | 'unknown';
    readonly clockSpeed: number;
    readonly measuredSpeed: number;
    /** Server time minus scenario time. */
    readonly offsetSeconds: number;
    readonly scenarioStartOnServer: string;
    /** Where the fitted clock line was off at the end of the run (server ms; positive: server ahead). */
    readonly clockDriftMs: number | null;
  };
  /** The engine bounds the blanket policy and the fail-open count use (the server's own when spawned). */
  readonly engine: LiveEngineSettings & { readonly fromServerSettings: boolean };
  readonly timings: {
    generateMs: number;
    startServerMs: number;
    setupMs: number;
    runMs: number;
    drainMs: number;
    readMs: number;
  };
  readonly counts: {
    events: number;
    httpRequests: number;
    ingestCalls: number;
    rateLimitedRetries: number;
    networkRetries: number;
    dnoSubscribers: number;
    messagesReceived: Record<string, number>;
    foreignMessages: number;
    reconnects: number;
    forcedDrops: number;
    sequenceGaps: number;
    sequenceDuplicates: number;
    /** Outbox messages a DNO had not received when the run ended (should be 0). */
    undeliveredAtEnd: number;
    /** Messages received but not acknowledged at the end (should be 0). */
    unacknowledgedAtEnd: number;
    /** AD1s still HELD when the run ended (should be 0). */
    heldAtEnd: number;
    /** Verification reads the service asked for, and the answers the simulated meters gave. */
    verificationRequests: number;
    verificationAnswers: number;
  };
  /**
   * sendLagSeconds: how late (scenario seconds) each event was sent after its due time: the
   * simulator's and the server's pace together. deliverySeconds: outbox write to DNO receipt.
   */
  readonly lag: {
    readonly sendLagSeconds: { p50: number; p99: number; max: number; overOneMinute: number };
    readonly deliverySeconds: { p50: number; p99: number; max: number };
    readonly causality: CausalityReport;
  };
  readonly errors: { kind: string; at: string; message: string }[];
  readonly scores: PolicyScore[];
  readonly oursByOutcome: Record<string, number>;
  readonly findings: Finding[];
}

export interface LiveRun {
  readonly scenario: Scenario;
  readonly policies: PolicyDeliveries[];
  readonly report: LiveReport;
  readonly received: ReceivedMessage[];
}

const MINUTE = 60_000;
/**
 * Supplier requests in flight at once. Each waits for its meter's earlier ones; a campaign's
 * SR11.3s for different meters go side by side, as a supplier's systems send them.
 */
const SUPPLIER_CONCURRENCY = 4;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
const sleepUntil = (real: number) => sleep(real - performance.now());

/** A signal to wait on, with a timeout: `wake()` ends every current wait. */
class Wakeup {
  private waiters: (() => void)[] = [];

  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves at the next wake(), or after `timeoutMs` if given. */
  next(timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, Math.max(0, timeoutMs));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }
}

export async function runLiveSimulation(
  scenarioOptions: Partial<ScenarioOptions>,
  live: LiveOptions,
): Promise<LiveRun> {
  const g0 = performance.now();
  const scenario = generateScenario(scenarioOptions);
  const generateMs = Math.round(performance.now() - g0);
  let spawned: SpawnedServer | undefined;
  // Ctrl-C while a spawned server runs: stop it (and remove its data folder) before exiting.
  const stopOnSignal = () => void (spawned?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  try {
    const s0 = performance.now();
    if (live.spawn) {
      process.once('SIGINT', stopOnSignal);
      process.once('SIGTERM', stopOnSignal);
      spawned = await spawnServer({
        databaseUrl: live.databaseUrl,
        clockSpeed: live.speed,
        // At speed 1 the server keeps the wall clock; accelerated, it starts at the scenario's start.
        clockStart: live.speed !== 1 ? new Date(scenario.start) : undefined,
        env: live.env,
      });
    }
    const startServerMs = Math.round(performance.now() - s0);
    const url = (spawned?.url ?? live.url ?? '').replace(/\/+$/, '');
    const secret = spawned?.secret ?? live.tokenSecret;
    if (!url) throw new Error('live mode needs --url of a running server, or --spawn');
    if (!secret) throw new Error("live mode needs --token-secret (the server's AUTH_JWT_SECRET), or --spawn");
    const run = await drive(scenario, live, {
      url,
      secret,
      backend: spawned?.backend ?? 'unknown',
      spawned: !!spawned,
      generateMs,
      startServerMs,
    });
    return run;
  } catch (error) {
    if (spawned && error instanceof Error)
      error.message += `\n--- server output (tail) ---\n${spawned.output().slice(-4000)}`;
    throw error;
  } finally {
    await spawned?.stop();
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
  }
}

interface Target {
  readonly url: string;
  readonly secret: string;
  readonly backend: LiveReport['server']['backend'];
  readonly spawned: boolean;
  readonly generateMs: number;
  readonly startServerMs: number;
}

async function drive(scenario: Scenario, live: LiveOptions, target: Target): Promise<LiveRun> {
  const settings = loadConfig({ NODE_ENV: 'test', ...live.env });
  const engine: LiveEngineSettings = {
    windowMinutes: settings.engine.windowMinutes,
    skewMinutes: settings.engine.skewMinutes,
    holdMinutes: settings.engine.holdMinutes,
    evidenceMinutes: evidenceMinutesOf(settings.engine),
  };
  const batchMax = Math.min(live.batchMax ?? 500, settings.ingest.maxBatchSize);
  const counters: RequestCounters = { requests: 0, rateLimitedRetries: 0, networkRetries: 0 };
  const errors: LiveReport['errors'] = [];
  const events = scenario.events;
  const lastAt = events.length ? events[events.length - 1].at : scenario.end;

  // 1. The server's clock: its speed must be ours, and it must be running.
  const t0 = performance.now();
  const clock = await measureServerClock(target.url, live.speed);

  // 2. Tokens on wall time, valid past the end of the run.
  const { issuedAt, ttlSeconds } = tokenTimes(
    clock,
    performance.now(),
    serverAt(clock, performance.now()) + (lastAt - scenario.start) + live.speed * 10 * MINUTE,
    Date.now(),
  );
  const mint = (claims: Omit<Parameters<typeof mintToken>[1], 'ttlSeconds' | 'issuer' | 'audience'>) =>
    mintToken(
      target.secret,
      { ...claims, ttlSeconds, issuer: live.tokenIssuer, audience: live.tokenAudience },
      issuedAt,
    );
  const operator = new GraphQLHttpClient(
    target.url,
    await mint({ subject: 'sim-dsp', role: 'OPERATOR' }),
    counters,
  );
  const supplier = new GraphQLHttpClient(
    target.url,
    await mint({ subject: 'sim-supplier', role: 'IS', supplierId: SIM_SUPPLIER_ID }),
    counters,
  );

  // 3. The DSP's reference data and inventory, dated a minute before now on the server's clock.
  const inventoryAt = Math.floor(serverAt(clock, performance.now()) / 1000) * 1000 - MINUTE;
  await loadInventory(scenario, operator, iso(inventoryAt), live.onProgress);

  // 4. One subscriber per DNO of the fleet, each in FILTER mode, from its stream's newest message.
  const distributorIds = [...new Set(scenario.premises.map((p) => p.distributorId))].sort();
  const subscribers: DnoSubscriber[] = [];
  let anchor: TimeAnchor | undefined;
  let responder: VerificationResponder | undefined;
  const dropTimers: NodeJS.Timeout[] = [];
  try {
    for (const distributorId of distributorIds) {
      const token = await mint({
        subject: `sim-dno-${distributorId}`,
        role: 'ED',
        distributorIds: [distributorId],
      });
      const http = new GraphQLHttpClient(target.url, token, counters);
      const status = await http.request<{
        dnoDeliveryStatus: { newestSequence: string; preference: string };
      }>('query { dnoDeliveryStatus { newestSequence preference } }');
      if (status.dnoDeliveryStatus.preference !== 'FILTER')
        await http.request(MUTATIONS.setPreference, { p: 'FILTER' });
      const subscriber = new DnoSubscriber({
        wsUrl: `${target.url.replace(/^http/, 'ws')}/graphql`,
        token,
        distributorId,
        after: status.dnoDeliveryStatus.newestSequence,
        http,
        scenarioNow: () => (anchor ? scenarioAt(anchor, performance.now()) : scenario.start),
        toScenario: (serverTime) => serverTime - (anchor?.offsetMs ?? 0),
        ackEveryMs: 1000,
      });
      subscribers.push(subscriber);
    }
    await Promise.all(subscribers.map((s) => s.start()));
    const setupMs = Math.round(performance.now() - t0);

    // 5. The scenario on the server's clock, starting a moment from now.
    anchor = anchorScenario(clock, scenario.start, performance.now(), 250);
    const mapping: LiveMapping = {
      offsetMs: anchor.offsetMs,
      requestCounterBase: requestCounterBase(toServer(anchor, scenario.start)),
    };
    const a = anchor;
    const rng = new Prng(scenario.options.seed ^ 0x5eed);
    for (const s of subscribers)
      for (let k = 0; k < (live.dropsPerDno ?? 1); k++) {
        const at = rng.uniform(scenario.start, Math.max(scenario.start + 1, lastAt));
        dropTimers.push(setTimeout(() => s.drop(), realWhen(a, at) - performance.now()));
      }

    // The DSP/DCC adapter: answers the service's verification reads from the scenario's truth.
    responder = new VerificationResponder({
      wsUrl: `${target.url.replace(/^http/, 'ws')}/graphql`,
      token: await mint({ subject: 'sim-dcc-adapter', role: 'OPERATOR' }),
      after: await verificationHead(operator),
      http: operator,
      scenario,
      anchor: a,
    });
    await responder.start();

    // 6. Every event when the server's clock reaches it, in order.
    const r0 = performance.now();
    const sent = await sendEvents(
      scenario,
      a,
      mapping,
      operator,
      supplier,
      batchMax,
      errors,
      live.onProgress,
    );
    const runMs = Math.round(performance.now() - r0);

    // 7. Past the last hold; then until every DNO has everything and nothing is held.
    const d0 = performance.now();
    await sleepUntil(realWhen(a, lastAt + (engine.holdMinutes + 1) * MINUTE));
    const end = await drain(
      operator,
      subscribers,
      iso(toServer(a, scenario.start - MINUTE)),
      Math.max(30_000, (engine.holdMinutes * MINUTE) / live.speed),
    );
    for (const t of dropTimers) clearTimeout(t);
    await Promise.all(subscribers.map((s) => s.stop()));
    await responder.stop();
    errors.push(...responder.errors.map((message) => ({ kind: 'DCC_ADAPTER', at: '', message })));
    const drainMs = Math.round(performance.now() - d0);

    // 8. What the ledger says (for the findings), and the acknowledged positions.
    const q0 = performance.now();
    const decisions = await readDecisions(operator, sent.alertKey, a, scenario.start - MINUTE);
    let unacknowledgedAtEnd = 0;
    for (const s of subscribers) {
      const st = await operator.request<{ dnoDeliveryStatus: { acknowledgedSequence: string } }>(
        'query ($d: String) { dnoDeliveryStatus(distributorId: $d) { acknowledgedSequence } }',
        { d: s.distributorId },
      );
      unacknowledgedAtEnd += Number(
        BigInt(s.tracker.last) - BigInt(st.dnoDeliveryStatus.acknowledgedSequence),
      );
      errors.push(...s.errors.map((message) => ({ kind: 'DNO', at: '', message })));
    }
    const after = await sampleClock(target.url);
    const clockDriftMs = Math.round(
      after.serverTime - serverAt(clock, (after.sentAt + after.receivedAt) / 2),
    );
    const readMs = Math.round(performance.now() - q0);

    // 9. The scoreboard.
    const received = subscribers.flatMap((s) => s.received);
    const budgetSpent = new Set(
      [...decisions]
        .filter(([, d]) => d.history.some((h) => h.includes('[SAFETY_BUDGET_SPENT]')))
        .map(([k]) => k),
    );
    const { deliveries: ours, foreign } = oursFromReceived(
      received,
      sent.alertKey,
      sent.alertIds,
      budgetSpent,
    );
    const scored = liveScores(scenario, ours, sent.sentAt, engine);
    const { policies } = scored;
    const candidates = [...decisions.values()].filter((d) =>
      d.history.some((h) => h.startsWith('HELD')),
    ).length;
    const reads = { requests: responder.requests, answers: responder.answers };
    const scores = scored.scores.map((s) =>
      s.policy === 'ours' ? { ...s, verification: { ...reads, candidates } } : s,
    );
    const missing = outcomeMissingKeys(scenario, engine.evidenceMinutes);
    const oursByOutcome: Record<string, number> = {};
    for (const ad1 of scenario.ad1s) {
      if (ad1.arrivedAt === null) continue;
      const d = decisions.get(ad1.key);
      const k = `${ad1.genuine ? 'genuine' : 'ota'} ${d?.outcome ?? 'NONE'} ${d?.reason ?? ''}`.trim();
      oursByOutcome[k] = (oursByOutcome[k] ?? 0) + 1;
    }
    const kinds: Record<string, number> = {};
    for (const m of received) kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
    const lags = sent.lags.sort((x, y) => x - y);
    const delivery = received.map((m) => (m.receivedAt - m.createdAt) / 1000).sort((x, y) => x - y);
    const report: LiveReport = {
      mode: 'live',
      scenario: { ...describeScenarioFacts(scenario), options: scenario.options },
      server: {
        url: target.url,
        spawned: target.spawned,
        backend: target.backend,
        clockSpeed: clock.speed,
        measuredSpeed: Number(clock.measuredSpeed.toFixed(3)),
        offsetSeconds: a.offsetMs / 1000,
        scenarioStartOnServer: iso(toServer(a, scenario.start)),
        clockDriftMs,
      },
      engine: { ...engine, fromServerSettings: target.spawned },
      timings: {
        generateMs: target.generateMs,
        startServerMs: target.startServerMs,
        setupMs,
        runMs,
        drainMs,
        readMs,
      },
      counts: {
        events: events.length,
        httpRequests: counters.requests,
        ingestCalls: sent.ingestCalls,
        rateLimitedRetries: counters.rateLimitedRetries,
        networkRetries: counters.networkRetries,
        dnoSubscribers: subscribers.length,
        messagesReceived: kinds,
        foreignMessages: foreign,
        reconnects: subscribers.reduce((n, s) => n + s.reconnects, 0),
        forcedDrops: subscribers.reduce((n, s) => n + s.drops, 0),
        sequenceGaps: subscribers.reduce((n, s) => n + s.tracker.gaps, 0),
        sequenceDuplicates: subscribers.reduce((n, s) => n + s.tracker.duplicates, 0),
        undeliveredAtEnd: end.undelivered,
        unacknowledgedAtEnd,
        heldAtEnd: end.held,
        verificationRequests: responder.requests,
        verificationAnswers: responder.answers,
      },
      lag: {
        sendLagSeconds: {
          p50: percentile(lags, 0.5),
          p99: percentile(lags, 0.99),
          max: lags.length ? lags[lags.length - 1] : 0,
          overOneMinute: lags.filter((l) => l > 60).length,
        },
        deliverySeconds: {
          p50: percentile(delivery, 0.5),
          p99: percentile(delivery, 0.99),
          max: delivery.length ? delivery[delivery.length - 1] : 0,
        },
        causality: sent.causality,
      },
      errors,
      scores,
      oursByOutcome: Object.fromEntries(Object.entries(oursByOutcome).sort()),
      findings: [
        ...findings(scenario, ours, decisions, missing),
        ...withdrawnFindings(scenario, ours, decisions),
      ],
    };
    return { scenario, policies, report, received };
  } finally {
    for (const t of dropTimers) clearTimeout(t);
    await Promise.all(subscribers.map((s) => s.stop().catch(() => undefined)));
    await responder?.stop().catch(() => undefined);
  }
}

async function sampleClock(url: string): Promise<ClockSample> {
  const sentAt = performance.now();
  const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
  const receivedAt = performance.now();
  if (!res.ok) throw new Error(`GET ${url}/healthz answered ${res.status}`);
  const body = (await res.json()) as { time?: string; clockSpeed?: number };
  if (typeof body.time !== 'string')
    throw new Error(`GET ${url}/healthz has no "time": the server is older than live mode`);
  return { sentAt, receivedAt, serverTime: Date.parse(body.time), speed: body.clockSpeed ?? 1 };
}

/** Three readings of the server's clock over about a second, fitted and checked (anchor.ts). */
async function measureServerClock(url: string, speed: number): Promise<ServerClock> {
  const samples: ClockSample[] = [];
  for (let i = 0; i < 3; i++) {
    if (i) await sleep(500);
    samples.push(await sampleClock(url));
  }
  return fitServerClock(samples, speed);
}

async function loadInventory(
  scenario: Scenario,
  operator: GraphQLHttpClient,
  at: string,
  onProgress: LiveOptions['onProgress'],
): Promise<void> {
  for (const image of Object.values(SIM_IMAGES))
    await operator.request(MUTATIONS.registerImage, { i: { ...image, sizeBytes: 412_160 } });
  const { affectedFirmwareRules: rules } = await operator.request<{
    affectedFirmwareRules: { name: string; enabled: boolean }[];
  }>('query { affectedFirmwareRules { name enabled } }');
  if (!rules.some((r) => r.name === SIM_RULE.name && r.enabled))
    await operator.request(MUTATIONS.upsertRule, { r: { ...SIM_RULE } });

  const devices: Record<string, unknown>[] = [];
  for (const p of scenario.premises) {
    const m = SIM_MODELS[p.modelClass];
    devices.push(
      {
        guid: p.esmeGuid,
        deviceType: 'ESME',
        importSupplierId: SIM_SUPPLIER_ID,
        importSupplierEffectiveFrom: at,
        manufacturer: m.manufacturer,
        model: m.model,
        firmwareVersion: m.firmware,
        firmwareEffectiveFrom: at,
        mpan: p.mpan,
        areaKey: p.areaKey,
      },
      {
        guid: p.commsHubs[0].guid,
        deviceType: 'CHF',
        manufacturer: SIM_MODELS.CHF.manufacturer,
        model: SIM_MODELS.CHF.model,
        firmwareVersion: SIM_MODELS.CHF.firmware,
        firmwareEffectiveFrom: at,
        areaKey: p.areaKey,
      },
    );
  }
  const links = scenario.premises.map((p) => ({ commsHubGuid: p.commsHubs[0].guid, esmeGuid: p.esmeGuid }));
  const total = devices.length + links.length;
  for (let i = 0; i < devices.length; i += 2000) {
    await operator.request(MUTATIONS.upsertDevices, { d: devices.slice(i, i + 2000) });
    onProgress?.(Math.min(i + 2000, devices.length), total, 'setup');
  }
  // The hub links in bulk (linkCommsHubs: one statement per request), as a DSP loads its inventory.
  for (let i = 0; i < links.length; i += 5000) {
    await operator.request(MUTATIONS.linkCommsHubs, {
      l: links.slice(i, i + 5000).map((l) => ({ ...l, effectiveFrom: at })),
    });
    onProgress?.(devices.length + Math.min(i + 5000, links.length), total, 'setup');
  }
}

interface Sent {
  /** Alert ID (from ingest) to the AD1's scenario key. */
  readonly alertKey: Map<string, string>;
  /** Every alert ID an ingest returned (AD1s and restores). */
  readonly alertIds: Set<string>;
  /** AD1 key to the scenario time its first copy was sent. */
  readonly sentAt: Map<string, number>;
  /** Per event: scenario seconds between due (moved by live-causality.ts, if it was) and sent. */
  readonly lags: number[];
  ingestCalls: number;
  /** How late SR11.3 requests reached the server, and the device times moved for it. */
  causality: CausalityReport;
}

async function sendEvents(
  scenario: Scenario,
  anchor: TimeAnchor,
  map: LiveMapping,
  operator: GraphQLHttpClient,
  supplier: GraphQLHttpClient,
  batchMax: number,
  errors: LiveReport['errors'],
  onProgress: LiveOptions['onProgress'],
): Promise<Sent> {
  const queue = new CausalQueue(scenario.events, scenario);
  let completed = 0;
  const state: Sent = {
    alertKey: new Map(),
    alertIds: new Set(),
    sentAt: new Map(),
    lags: [],
    ingestCalls: 0,
    causality: queue.report(),
  };
  const at = (t: number) => iso(t + map.offsetMs);
  const fail = (e: SimEvent, error: unknown) =>
    errors.push({
      kind: e.kind,
      at: iso(e.at),
      message: error instanceof Error ? error.message : String(error),
    });

  const ingest = async (group: SimEvent[]) => {
    const record = (results: { alertId: string | null }[], items: SimEvent[]) =>
      results.forEach((r, i) => {
        const e = items[i];
        if (r.alertId) state.alertIds.add(r.alertId);
        if (e.kind === 'AD1' && r.alertId) state.alertKey.set(r.alertId, e.key);
      });
    const call = async (items: SimEvent[]) => {
      state.ingestCalls++;
      const data = await operator.request<{ ingestAlerts: { alertId: string | null }[] }>(
        MUTATIONS.ingestAlerts,
        {
          alerts: items.map((e) => alertInput(e, map)),
        },
      );
      record(data.ingestAlerts, items);
    };
    try {
      await call(group);
    } catch {
      // One bad alert rejects a batch: send them one by one to find it and keep the rest.
      for (const e of group) {
        try {
          await call([e]);
        } catch (error) {
          fail(e, error);
        }
      }
    }
  };

  const apply = async (e: SimEvent) => {
    try {
      switch (e.kind) {
        case 'SCHEDULE': {
          // A late request keeps causality: see live-causality.ts.
          const r = queue.prepareRequest(e, scenarioAt(anchor, performance.now()));
          const data = await supplier.request<{ scheduleFirmwareActivation: { submittedAt: string } }>(
            MUTATIONS.schedule,
            {
              a: {
                requestId: liveRequestId(r.requestId, map.requestCounterBase),
                esmeGuid: r.esmeGuid,
                imageHash: r.imageHash,
                executeAt: r.executeAt === null ? null : at(r.executeAt),
              },
            },
          );
          queue.requestReceived(r, Date.parse(data.scheduleFirmwareActivation.submittedAt) - map.offsetMs);
          break;
        }
        case 'CANCEL':
          // DUIS cancels by an SR11.3 dated 3000-12-31.
          await supplier.request(MUTATIONS.schedule, {
            a: {
              requestId: liveRequestId(e.requestId, map.requestCounterBase),
              esmeGuid: e.esmeGuid,
              imageHash: SIM_IMAGES.AFFECTED.imageHash,
              executeAt: '3000-12-31T00:00:00Z',
            },
          });
          break;
        case 'CLAIM':
          // The supplier's claim of an outcome (supplier-claims.ts); DCC's outcomes are alerts.
          await supplier.request(MUTATIONS.recordOutcome, {
            o: {
              requestId: liveRequestId(e.requestId, map.requestCounterBase),
              outcomeCode: e.outcomeCode,
              executedAt: at(e.executedAt),
              firmwareVersion: e.firmwareVersion,
            },
          });
          break;
        case 'CH_SWAP': {
          const p = scenario.premises[e.premises];
          await operator.request(MUTATIONS.upsertDevices, {
            d: [
              {
                guid: e.newCommsHubGuid,
                deviceType: 'CHF',
                manufacturer: SIM_MODELS.CHF.manufacturer,
                model: SIM_MODELS.CHF.model,
                firmwareVersion: SIM_MODELS.CHF.firmware,
                firmwareEffectiveFrom: at(e.at),
                areaKey: p.areaKey,
              },
            ],
          });
          await operator.request(MUTATIONS.linkCommsHub, {
            ch: e.newCommsHubGuid,
            esme: e.esmeGuid,
            from: at(e.at),
          });
          break;
        }
        default:
          throw new Error(`${e.kind} is sent by ingestAlerts`);
      }
    } catch (error) {
      fail(e, error);
    }
  };

  // Suppliers' requests go beside the DSP's alerts (supplier-lane.ts); swaps are the operator's.
  const suppliers = new SupplierLane(SUPPLIER_CONCURRENCY);
  const waitsFor = (e: SimEvent) => suppliers.pending(queue.ownerOf(e));
  const returns = new Wakeup();
  for (;;) {
    const next = queue.peek();
    if (!next) {
      if (queue.parkedCount === 0) break;
      await returns.next();
      continue;
    }
    // An event of an activation whose SR11.3 is still out waits for it, out of line: its
    // acknowledgement may move the event (live-causality.ts). Other meters' events go on.
    const pending = waitsFor(next.event);
    if (pending) {
      void queue.park(pending).then(() => returns.wake());
      continue;
    }
    if (realWhen(anchor, next.due) > performance.now()) {
      await returns.next(realWhen(anchor, next.due) - performance.now());
      continue;
    }
    // Alerts already due go together, as a DSP forwards what it has.
    const group = [queue.take()!];
    if (isAlertEvent(group[0].event)) {
      const now = performance.now();
      for (
        let q = queue.peek();
        q &&
        group.length < batchMax &&
        isAlertEvent(q.event) &&
        realWhen(anchor, q.due) <= now &&
        !waitsFor(q.event);
        q = queue.peek()
      )
        group.push(queue.take()!);
    }
    const record = () => {
      const sentAt = scenarioAt(anchor, performance.now());
      for (const { event: e, due } of group) {
        state.lags.push(Math.max(0, (sentAt - due) / 1000));
        if (e.kind === 'AD1' && !e.duplicate && !state.sentAt.has(e.key)) state.sentAt.set(e.key, sentAt);
      }
    };
    const e = group[0].event;
    if (e.kind === 'SCHEDULE' || e.kind === 'CANCEL' || e.kind === 'CLAIM') {
      suppliers.submit(e, async () => {
        record();
        await apply(e);
        onProgress?.(++completed, scenario.events.length, 'live');
      });
      continue;
    }
    record();
    if (isAlertEvent(e)) await ingest(group.map((q) => q.event));
    else await apply(e);
    completed += group.length;
    onProgress?.(completed, scenario.events.length, 'live');
  }
  await suppliers.drain();
  state.causality = queue.report();
  return state;
}

/**
 * Waits (up to `timeoutMs` of real time) until no AD1 is held and every DNO has received its
 * stream's newest message; returns what was still missing.
 */
async function drain(
  operator: GraphQLHttpClient,
  subscribers: readonly DnoSubscriber[],
  receivedFrom: string,
  timeoutMs: number,
): Promise<{ undelivered: number; held: number }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const held = await operator.request<{ alerts: { nodes: unknown[] } }>(
      'query ($f: AlertFilterInput) { alerts(filter: $f, first: 500) { nodes { id } } }',
      { f: { kind: 'AD1', outcome: 'HELD', receivedFrom } },
    );
    let undelivered = 0;
    for (const s of subscribers) {
      const st = await operator.request<{ dnoDeliveryStatus: { newestSequence: string } }>(
        'query ($d: String) { dnoDeliveryStatus(distributorId: $d) { newestSequence } }',
        { d: s.distributorId },
      );
      undelivered += Math.max(
        0,
        Number(BigInt(st.dnoDeliveryStatus.newestSequence) - BigInt(s.tracker.last)),
      );
    }
    const result = { undelivered, held: held.alerts.nodes.length };
    if ((undelivered === 0 && result.held === 0) || performance.now() > deadline) return result;
    await sleep(200);
  }
}

interface AlertPage {
  alerts: {
    nodes: {
      id: string;
      outcome: string | null;
      decision: { reasonCode: string } | null;
      decisionHistory: { outcome: string; reasonCode: string; late: boolean; decidedAt: string }[];
    }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

/** Every AD1 of this run with its current decision and ledger, read through the alerts query. */
async function readDecisions(
  operator: GraphQLHttpClient,
  alertKey: ReadonlyMap<string, string>,
  anchor: TimeAnchor,
  fromScenarioTime: number,
): Promise<Map<string, Ad1Decision>> {
  const decisions = new Map<string, Ad1Decision>();
  let after: string | null = null;
  for (;;) {
    const page: AlertPage = await operator.request<AlertPage>(
      `query ($f: AlertFilterInput, $after: String) {
        alerts(filter: $f, first: 200, after: $after) {
          nodes { id outcome decision { reasonCode } decisionHistory { outcome reasonCode late decidedAt } }
          pageInfo { hasNextPage endCursor }
        }
      }`,
      { f: { kind: 'AD1', receivedFrom: iso(toServer(anchor, fromScenarioTime)) }, after },
    );
    for (const a of page.alerts.nodes) {
      const key = alertKey.get(a.id);
      if (!key) continue;
      decisions.set(key, {
        alertId: a.id,
        outcome: a.outcome,
        reason: a.decision?.reasonCode ?? null,
        history: a.decisionHistory.map(
          (h) =>
            `${h.outcome} [${h.reasonCode}]${h.late ? ' late' : ''} @ ${iso(Date.parse(h.decidedAt) - anchor.offsetMs)}`,
        ),
      });
    }
    if (!page.alerts.pageInfo.hasNextPage) return decisions;
    after = page.alerts.pageInfo.endCursor;
  }
}
