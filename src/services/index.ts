import type { DataSource } from 'typeorm';
import type { Clock } from '../clock';
import type { Config } from '../config';
import { deviceTimeAllowanceMinutes } from '../domain/engine';
import type { Logger } from '../logger';
import type { AppPubSub } from '../realtime/pubsub';
import { ActivationService } from './activations/activation.service';
import { AlertService } from './alerts/alert.service';
import { DecisionService } from './alerts/decision.service';
import { DeliveryService } from './delivery/delivery.service';
import { DeviceService } from './inventory/device.service';
import { FirmwareService } from './inventory/firmware.service';
import { IngestService } from './ingest/ingest.service';
import { NetworkOperatorService } from './inventory/network-operator.service';
import { InputDates } from './shared/input-dates';
import type { ServiceObserver } from './shared/observer';
import { OperationsService } from './operations/operations.service';
import { OperatorStatusService } from './operations/operator-status';
import { RetentionService } from './operations/retention.service';
import { VerificationFeed } from './verification/verification-feed';
import { VerificationOutbox } from './evidence/verification-requests';
import { VerificationService } from './verification/verification.service';

/** Everything a use case may need, built once per process and shared by HTTP, WebSocket and scripts. */
export interface ServiceDeps {
  readonly dataSource: DataSource;
  readonly config: Config;
  readonly clock: Clock;
  readonly pubSub: AppPubSub;
  readonly log: Logger;
  /** Told what the services did, after commit (metrics). */
  readonly observer?: ServiceObserver;
}

export interface Services {
  readonly networkOperators: NetworkOperatorService;
  readonly devices: DeviceService;
  readonly firmware: FirmwareService;
  readonly activations: ActivationService;
  readonly decisions: DecisionService;
  readonly ingest: IngestService;
  readonly alerts: AlertService;
  readonly delivery: DeliveryService;
  readonly operations: OperationsService;
  /** The operator's status at a glance (operatorStatus). */
  readonly operatorStatus: OperatorStatusService;
  readonly retention: RetentionService;
  readonly verification: VerificationService;
  /** The DSP adapter's reads of the verification outbox: pages and the live stream. */
  readonly verificationFeed: VerificationFeed;
  /** The plausible range of every date-time a client sends (INPUT_EARLIEST_DATE, INPUT_MAX_FUTURE_DAYS). */
  readonly inputDates: InputDates;
}

export function createServices(deps: ServiceDeps): Services {
  const { dataSource, config, clock } = deps;
  const decisions = new DecisionService(
    config.engine,
    new VerificationOutbox(config.engine, config.verification),
  );
  const alerts = new AlertService(dataSource, clock);
  const delivery = new DeliveryService(
    dataSource,
    clock,
    deps.pubSub,
    (ids) => alerts.now(ids),
    deps.observer,
  );
  const activations = new ActivationService(
    dataSource,
    clock,
    {
      horizonDays: config.activation.horizonDays,
      skewMinutes: config.engine.skewMinutes,
      deviceTimeMinutes: deviceTimeAllowanceMinutes(config.engine),
      outcomeBoundMinutes: config.activation.outcomeBoundMinutes,
      maxCampaignSize: config.graphql.maxBatchSize,
    },
    decisions,
    delivery,
  );
  const verification = new VerificationService(dataSource, clock, config.engine, decisions, delivery);
  return {
    networkOperators: new NetworkOperatorService(dataSource),
    devices: new DeviceService(dataSource, clock, deps.pubSub, config.graphql.maxBatchSize),
    firmware: new FirmwareService(dataSource, clock, {
      windowMinutes: config.engine.windowMinutes,
      skewMinutes: config.engine.skewMinutes,
      executedWindowMinutes: config.engine.executedWindowMinutes,
      maxCommsHubOffMinutes: config.engine.maxCommsHubOffMinutes,
    }),
    activations,
    decisions,
    alerts,
    operations: new OperationsService(dataSource, clock, config.engine),
    operatorStatus: new OperatorStatusService(dataSource, clock, delivery),
    retention: new RetentionService(dataSource, clock, deps.log, {
      ...config.retention,
      budgetWindowMinutes: config.engine.budget.windowMinutes,
    }),
    delivery,
    verification,
    inputDates: new InputDates(clock, config.inputDates),
    verificationFeed: new VerificationFeed(verification, {
      pollMs: config.ingest.schedulerPollMs,
      page: 200,
    }),
    ingest: new IngestService(
      dataSource,
      clock,
      decisions,
      activations,
      delivery,
      config.engine,
      {
        maxBatchSize: config.ingest.maxBatchSize,
        transactions: config.ingest.transactions,
      },
      deps.observer,
    ),
  };
}
