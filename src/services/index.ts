import type { DataSource } from 'typeorm';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { AppPubSub } from '../realtime/pubsub';
import { DeviceService } from './device.service';
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
}

export function createServices(deps: ServiceDeps): Services {
  return {
    networkOperators: new NetworkOperatorService(deps.dataSource),
    devices: new DeviceService(deps.dataSource, deps.clock, deps.pubSub, deps.config.graphql.maxBatchSize),
  };
}
