import type { DataSource } from 'typeorm';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { AppPubSub } from '../realtime/pubsub';
import { ActivationService } from './activation.service';
import { DeviceService } from './device.service';
import { FirmwareService } from './firmware.service';
import { NetworkOperatorService } from './network-operator.service';

/** Everything a use case may need, built once per process and shared by HTTP, WebSocket and scripts. */
export interface ServiceDeps {
  readonly dataSource: DataSource;
  readonly config: Config;
  readonly clock: Clock;
  readonly pubSub: AppPubSub;
  readonly log: Logger;
}

export interface Services {
  readonly networkOperators: NetworkOperatorService;
  readonly devices: DeviceService;
  readonly firmware: FirmwareService;
  readonly activations: ActivationService;
}

export function createServices(deps: ServiceDeps): Services {
  return {
    networkOperators: new NetworkOperatorService(deps.dataSource),
    devices: new DeviceService(deps.dataSource, deps.clock, deps.pubSub, deps.config.graphql.maxBatchSize),
    firmware: new FirmwareService(deps.dataSource, deps.clock, {
      windowMinutes: deps.config.engine.windowMinutes,
      skewMinutes: deps.config.engine.skewMinutes,
    }),
    activations: new ActivationService(deps.dataSource, deps.clock, {
      horizonDays: deps.config.activation.horizonDays,
      skewMinutes: deps.config.engine.skewMinutes,
      outcomeBoundMinutes: deps.config.activation.outcomeBoundMinutes,
      maxCampaignSize: deps.config.graphql.maxBatchSize,
    }),
  };
}
