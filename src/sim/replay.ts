import crypto from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import { loadConfig } from '../config';
import type { Config } from '../config';
import { createDataSource, runMigrations } from '../db/data-source';
import { startEmbeddedPostgres } from '../db/embedded';
import type { EmbeddedPostgres } from '../db/embedded';
import { createLogger } from '../logger';
import { createInProcessPubSub } from '../realtime/pubsub';
import { createServices } from '../services';
import type { Services } from '../services';
import { DecisionScheduler } from '../services/alerts/decision-scheduler';
import type { DeviceInput } from '../services/inventory/device.service';
import type { AlertInput } from '../services/ingest/alert-input';
import { planVerificationAnswer } from './dcc-adapter';
import type { VerificationAnswerPlan } from './dcc-adapter';
import { readBack } from './replay-readback';
import type { Ad1Decision } from './replay-readback';
import type { PolicyDeliveries } from './scoreboard';
import { SIM_IMAGES, SIM_MODELS, SIM_RULE, SIM_SUPPLIER_ID } from './scenario';
import type { Scenario, SimEvent } from './scenario';

/**
 * Replay: runs a scenario through the real services (no HTTP) on a fresh database, in-memory
 * PGlite or a throw-away database on the PostgreSQL at DATABASE_URL, with a simulated clock.
 * Events are fed in arrival order; before each step the durable timers that fall due are worked
 * at their due time (DecisionScheduler.runDue), so every hold is decided when it would be live.
 * At the end the clock moves past every hold, and what each DNO received in FILTER mode is read
 * back from its outbox.
 */

const OPERATOR: Principal = { kind: 'user', subject: 'sim-dsp', role: 'OPERATOR', distributorIds: [] };
const SUPPLIER: Principal = {
  kind: 'user',
  subject: 'sim-supplier',
  role: 'IS',
  distributorIds: [],
  supplierId: SIM_SUPPLIER_ID,
};
const CANCEL_SENTINEL = new Date('3000-12-31T00:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A clock the replay moves; it never goes backwards. */
export class SimClock implements Clock {
  constructor(private current: number) {}
  now(): Date {
    return new Date(this.current);
  }
  get ms(): number {
    return this.current;
  }
  moveTo(t: number): void {
    if (t > this.current) this.current = Math.floor(t);
  }
}

export interface ReplayOptions {
  /** Real PostgreSQL server to create a throw-away database on; unset: in-memory PGlite. */
  readonly databaseUrl?: string;
  /** Extra settings (the service's environment variables, e.g. HOLD_MINUTES); defaults otherwise. */
  readonly env?: Record<string, string>;
  /** Alerts arriving within this many ms of each other (and nothing else between) go in one ingestAlerts call. */
  readonly batchMs?: number;
  readonly onProgress?: (done: number, total: number, phase: string) => void;
}

export type { Ad1Decision } from './replay-readback';

export interface ReplayResult {
  readonly ours: PolicyDeliveries;
  readonly decisions: Map<string, Ad1Decision>;
  readonly config: Config;
  readonly backend: 'pglite' | 'postgres';
  readonly errors: { kind: string; at: string; message: string }[];
  readonly timings: { setupMs: number; replayMs: number; readMs: number };
  readonly counts: {
    ingestCalls: number;
    timerRuns: number;
    outboxMessages: number;
    /** WITHDRAWN messages on the DNO streams, and AD1s whose ledger corrected a delivery. */
    withdrawnMessages: number;
    ledgerCorrections: number;
    verificationRequests: number;
    verificationAnswers: number;
  };
}

interface Database {
  readonly url: string;
  readonly backend: 'pglite' | 'postgres';
  drop(): Promise<void>;
}

async function openDatabase(databaseUrl: string | undefined): Promise<Database> {
  if (!databaseUrl) {
    const embedded: EmbeddedPostgres = await startEmbeddedPostgres({ maxConnections: 4 });
    return { url: embedded.url, backend: 'pglite', drop: () => embedded.stop() };
  }
  const name = `poa_sim_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    backend: 'postgres',
    async drop() {
      const c = new Client({ connectionString: databaseUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** DCC's messages, the operator's ingestAlerts: AD1s, restores and every outcome (IMMEDIATE too). */
const isAlertEvent = (e: SimEvent) => e.kind === 'AD1' || e.kind === 'RESTORE' || e.kind === 'OUTCOME';

function toAlertInput(e: SimEvent): AlertInput {
  switch (e.kind) {
    case 'AD1':
      return {
        kind: 'AD1',
        commsHubGuid: e.commsHubGuid,
        startAt: new Date(e.startAt),
        mpan: e.mpan,
        throttledCount: e.throttledCount,
      };
    case 'RESTORE':
      return {
        kind: 'SUPPLY_RESTORED',
        esmeGuid: e.esmeGuid,
        alertCode: '8F36',
        interruptionAt: new Date(e.interruptionAt),
        restorationAt: new Date(e.restorationAt),
        mpan: e.mpan,
      };
    case 'OUTCOME':
      return {
        kind: 'ACTIVATION_OUTCOME',
        esmeGuid: e.esmeGuid,
        alertCode: e.channel,
        requestId: e.requestId,
        outcomeCode: e.outcomeCode,
        executedAt: new Date(e.executedAt),
        firmwareVersion: e.firmwareVersion,
      };
    default:
      throw new Error(`${e.kind} is not an alert`);
  }
}

export async function replayScenario(scenario: Scenario, options: ReplayOptions = {}): Promise<ReplayResult> {
  const t0 = Date.now();
  const db = await openDatabase(options.databaseUrl);
  const config = loadConfig({
    DATABASE_URL: db.url,
    AUTH_JWT_SECRET: 'simulator-secret-that-is-never-used-for-tokens',
    LOG_LEVEL: 'silent',
    NODE_ENV: 'production',
    SEED_DEMO: 'false',
    PUBSUB_MODE: 'memory',
    DATABASE_POOL_SIZE: db.backend === 'pglite' ? '4' : '4',
    ...options.env,
  });
  const clock = new SimClock(scenario.installedAt + MINUTE);
  const log = createLogger('silent');
  const pubSub = createInProcessPubSub();
  let dataSource: DataSource | undefined;
  try {
    dataSource = createDataSource(db.url, config.database.poolSize, undefined, 'poa-sieve-sim');
    await dataSource.initialize();
    await runMigrations(dataSource);
    const services = createServices({ dataSource, config, clock, pubSub: pubSub.pubSub, log });
    const scheduler = new DecisionScheduler(dataSource, services.decisions, services.delivery, clock, log, {
      pollMs: 1000,
      batchSize: 500,
      holdMinutes: config.engine.holdMinutes,
    });
    await loadInventory(scenario, services, dataSource, clock, config, options.onProgress);
    const t1 = Date.now();
    const state = await runEvents(scenario, services, dataSource, scheduler, clock, config, options);
    const t2 = Date.now();
    const read = await readBack(services, dataSource, state.alertKey);
    const t3 = Date.now();
    return {
      ours: {
        policy: 'ours',
        deliveredAt: read.deliveredAt,
        withdrawnAt: read.withdrawnAt,
        budgetSpent: read.budgetSpent,
      },
      decisions: read.decisions,
      config,
      backend: db.backend,
      errors: state.errors,
      timings: { setupMs: t1 - t0, replayMs: t2 - t1, readMs: t3 - t2 },
      counts: {
        ingestCalls: state.ingestCalls,
        timerRuns: state.timerRuns,
        outboxMessages: read.outboxMessages,
        withdrawnMessages: read.withdrawnMessages,
        ledgerCorrections: read.ledgerCorrections,
        verificationRequests: state.verificationRequests,
        verificationAnswers: state.verificationAnswers,
      },
    };
  } finally {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await pubSub.close();
    await db.drop();
  }
}

/** Devices, the CH links as installed, the firmware images and the rule: as the DSP's operator would. */
async function loadInventory(
  scenario: Scenario,
  services: Services,
  dataSource: DataSource,
  clock: SimClock,
  config: Config,
  onProgress: ReplayOptions['onProgress'],
): Promise<void> {
  const installed = new Date(scenario.installedAt);
  const devices: DeviceInput[] = [];
  for (const p of scenario.premises) {
    const m = SIM_MODELS[p.modelClass];
    devices.push(
      {
        guid: p.esmeGuid,
        deviceType: 'ESME',
        importSupplierId: SIM_SUPPLIER_ID,
        importSupplierEffectiveFrom: installed,
        manufacturer: m.manufacturer,
        model: m.model,
        firmwareVersion: m.firmware,
        firmwareEffectiveFrom: installed,
        mpan: p.mpan,
        areaKey: p.areaKey,
      },
      {
        guid: p.commsHubs[0].guid,
        deviceType: 'CHF',
        manufacturer: SIM_MODELS.CHF.manufacturer,
        model: SIM_MODELS.CHF.model,
        firmwareVersion: SIM_MODELS.CHF.firmware,
        firmwareEffectiveFrom: installed,
        areaKey: p.areaKey,
      },
    );
  }
  const batch = Math.min(config.graphql.maxBatchSize, 5000);
  for (let i = 0; i < devices.length; i += batch) {
    await services.devices.upsertDevices(OPERATOR, devices.slice(i, i + batch));
    onProgress?.(Math.min(i + batch, devices.length), devices.length, 'inventory');
  }
  // The initial links in bulk: the same rows linkCommsHub writes on an empty table (one open link
  // per hub and per meter), without 100,000 one-row transactions. Swaps later go through linkCommsHub.
  const chs = scenario.premises.map((p) => p.commsHubs[0].guid);
  const esmes = scenario.premises.map((p) => p.esmeGuid);
  for (let i = 0; i < chs.length; i += 20_000) {
    await dataSource.query(
      `INSERT INTO comms_hub_link (comms_hub_guid, esme_guid, effective_from)
       SELECT c, e, $3 FROM unnest($1::text[], $2::text[]) AS l(c, e)`,
      [chs.slice(i, i + 20_000), esmes.slice(i, i + 20_000), installed],
    );
  }
  for (const image of Object.values(SIM_IMAGES)) {
    await services.firmware.registerFirmwareImage(OPERATOR, { ...image, sizeBytes: 412_160 });
  }
  await services.firmware.upsertRule(OPERATOR, { ...SIM_RULE });
  // PGlite runs no autovacuum: without statistics the planner guesses, badly, after a bulk load.
  await dataSource.query('ANALYZE');
  clock.moveTo(scenario.start - MINUTE);
}

interface RunState {
  alertKey: Map<string, string>;
  errors: ReplayResult['errors'];
  ingestCalls: number;
  timerRuns: number;
  /** Verification reads the service asked for, and the answers the simulated meters gave. */
  verificationRequests: number;
  verificationAnswers: number;
}

async function runEvents(
  scenario: Scenario,
  services: Services,
  dataSource: DataSource,
  scheduler: DecisionScheduler,
  clock: SimClock,
  config: Config,
  options: ReplayOptions,
): Promise<RunState> {
  const batchMs = options.batchMs ?? 1000;
  const maxBatch = config.ingest.maxBatchSize;
  const state: RunState = {
    alertKey: new Map(),
    errors: [],
    ingestCalls: 0,
    timerRuns: 0,
    verificationRequests: 0,
    verificationAnswers: 0,
  };
  const events = scenario.events;
  let lastSweepMinute = Math.floor(clock.ms / MINUTE);

  const nextDue = async (): Promise<number | null> => {
    const [row] = (await dataSource.query(
      'SELECT min(due_at) AS due FROM alert WHERE due_at IS NOT NULL',
    )) as { due: Date | null }[];
    return row.due ? row.due.getTime() : null;
  };

  // The DSP/DCC adapter: reads new verification requests from the stream after each step and
  // answers them from the scenario's truth, at the time the answer would reach the DSP.
  let verificationCursor = '0';
  const answers: { requestId: string; plan: VerificationAnswerPlan }[] = [];
  const collectRequests = async () => {
    for (;;) {
      const page = await services.verification.readAfter(verificationCursor, 1000);
      if (page.length === 0) return;
      for (const r of page) {
        state.verificationRequests++;
        const plan = planVerificationAnswer(scenario, {
          requestId: r.requestId,
          deviceGuid: r.deviceGuid,
          requestedAt: r.requestedAt.getTime(),
        });
        if (plan) answers.push({ requestId: r.requestId, plan });
      }
      answers.sort((a, b) => a.plan.arrivesAt - b.plan.arrivesAt);
      verificationCursor = page[page.length - 1].sequence!;
    }
  };
  const answer = async (next: { requestId: string; plan: VerificationAnswerPlan }) => {
    clock.moveTo(next.plan.arrivesAt);
    try {
      await services.verification.recordAnswer(OPERATOR, {
        requestId: next.requestId,
        answeredAt: new Date(next.plan.answeredAt),
        firmwareVersion: next.plan.firmwareVersion,
      });
      state.verificationAnswers++;
    } catch (error) {
      state.errors.push({
        kind: 'VERIFICATION_ANSWER',
        at: new Date(next.plan.arrivesAt).toISOString(),
        message: error instanceof Error ? error.message : String(error),
      });
    }
    await collectRequests();
  };

  /** Works every timer and answer that falls due up to `until`, each at its time, in time order. */
  const drainDue = async (until: number) => {
    for (;;) {
      const due = await nextDue();
      const nextAnswer = answers[0]?.plan.arrivesAt ?? null;
      const timerFirst = due !== null && (nextAnswer === null || due <= nextAnswer);
      if (timerFirst && due <= until) {
        clock.moveTo(due);
        while ((await scheduler.runDue()) > 0) state.timerRuns++;
        await collectRequests();
        // A timer the engine left due at this instant would loop forever: move on a millisecond.
        if ((await nextDue()) === due) clock.moveTo(due + 1);
        continue;
      }
      if (nextAnswer !== null && nextAnswer <= until) {
        await answer(answers.shift()!);
        continue;
      }
      return;
    }
  };
  const sweep = async () => {
    const minute = Math.floor(clock.ms / MINUTE);
    if (minute > lastSweepMinute) {
      lastSweepMinute = minute;
      await services.activations.expireOverdueOutcomes();
    }
  };
  const fail = (e: SimEvent, error: unknown) =>
    state.errors.push({
      kind: e.kind,
      at: new Date(e.at).toISOString(),
      message: error instanceof Error ? error.message : String(error),
    });

  const ingest = async (group: SimEvent[]) => {
    const record = (results: { alertId: string | null }[], items: SimEvent[]) =>
      results.forEach((r, i) => {
        const e = items[i];
        if (e.kind === 'AD1' && r.alertId) state.alertKey.set(r.alertId, e.key);
      });
    state.ingestCalls++;
    try {
      record(await services.ingest.ingestAlerts(OPERATOR, group.map(toAlertInput)), group);
    } catch {
      // One bad alert rejects a batch: feed them one by one to find it and keep the rest.
      for (const e of group) {
        state.ingestCalls++;
        try {
          record(await services.ingest.ingestAlerts(OPERATOR, [toAlertInput(e)]), [e]);
        } catch (error) {
          fail(e, error);
        }
      }
    }
  };

  const apply = async (e: SimEvent) => {
    try {
      switch (e.kind) {
        case 'SCHEDULE':
          await services.activations.schedule(SUPPLIER, {
            requestId: e.requestId,
            esmeGuid: e.esmeGuid,
            imageHash: e.imageHash,
            executeAt: e.executeAt === null ? null : new Date(e.executeAt),
          });
          break;
        case 'CANCEL':
          // DUIS cancels by an SR11.3 dated 3000-12-31.
          await services.activations.schedule(SUPPLIER, {
            requestId: e.requestId,
            esmeGuid: e.esmeGuid,
            imageHash: SIM_IMAGES.AFFECTED.imageHash,
            executeAt: CANCEL_SENTINEL,
          });
          break;
        case 'CLAIM':
          // The supplier's claim of an outcome (supplier-claims.ts): its own mutation and token.
          await services.activations.recordOutcome(SUPPLIER, {
            requestId: e.requestId,
            outcomeCode: e.outcomeCode,
            executedAt: new Date(e.executedAt),
            firmwareVersion: e.firmwareVersion,
          });
          break;
        case 'CH_SWAP': {
          const p = scenario.premises[e.premises];
          await services.devices.upsertDevices(OPERATOR, [
            {
              guid: e.newCommsHubGuid,
              deviceType: 'CHF',
              manufacturer: SIM_MODELS.CHF.manufacturer,
              model: SIM_MODELS.CHF.model,
              firmwareVersion: SIM_MODELS.CHF.firmware,
              firmwareEffectiveFrom: new Date(e.at),
              areaKey: p.areaKey,
            },
          ]);
          await services.devices.linkCommsHub(OPERATOR, {
            commsHubGuid: e.newCommsHubGuid,
            esmeGuid: e.esmeGuid,
            effectiveFrom: new Date(e.at),
          });
          break;
        }
        default:
          await ingest([e]);
      }
    } catch (error) {
      fail(e, error);
    }
  };

  let i = 0;
  while (i < events.length) {
    const first = events[i];
    const group = [first];
    if (isAlertEvent(first)) {
      while (
        i + group.length < events.length &&
        group.length < maxBatch &&
        isAlertEvent(events[i + group.length]) &&
        events[i + group.length].at - first.at < batchMs
      ) {
        group.push(events[i + group.length]);
      }
    }
    await drainDue(first.at);
    clock.moveTo(group[group.length - 1].at);
    await sweep();
    if (group.length > 1 || isAlertEvent(first)) await ingest(group);
    else await apply(first);
    await collectRequests();
    await drainDue(clock.ms);
    i += group.length;
    // Fresh statistics as the tables grow (PGlite has no autovacuum to keep them).
    if (Math.floor(i / 5000) > Math.floor((i - group.length) / 5000))
      await dataSource.query(
        'ANALYZE alert, alert_decision, firmware_activation, device_firmware, dno_outbox',
      );
    if (i % 200 < group.length || i === events.length) options.onProgress?.(i, events.length, 'replay');
  }
  // Past every hold and outcome bound: everything still held is decided.
  const final = Math.max(clock.ms, scenario.end) + 3 * HOUR;
  await drainDue(final);
  clock.moveTo(final);
  await services.activations.expireOverdueOutcomes();
  while ((await scheduler.runDue()) > 0) state.timerRuns++;
  return state;
}
