import { createPubSub } from '@graphql-yoga/subscription';
import type { Logger } from '../logger';
import { PgEventTarget } from './pg-event-target';

/** Devices were created or changed: how many, and which when few enough to list. */
export interface InventoryChangedEvent {
  count: number;
  /** The GUIDs when at most 100 changed; empty for larger batches (NOTIFY payloads are capped at 8 kB). */
  guids: string[];
  /** ISO 8601 time of the change. */
  at: string;
}

/** Topics and their payloads. Payloads stay small (identifiers): with PostgreSQL they travel by NOTIFY. */
export interface Topics {
  INVENTORY_CHANGED: [InventoryChangedEvent];
  /** A DNO's outbox has new messages (topic per DNO: the id is the distributor ID). */
  DNO_OUTBOX: [distributorId: string, event: { distributorId: string; sequence: string }];
}

export type AppPubSub = ReturnType<typeof createPubSub<Topics & Record<string, [unknown]>>>;

export interface PubSubHandle {
  readonly pubSub: AppPubSub;
  /** Whether cross-instance delivery is working (always true in process). */
  healthy(): boolean;
  close(): Promise<void>;
}

/** In-process bus: the embedded database serves one process, so nothing needs to cross instances. */
export function createInProcessPubSub(): PubSubHandle {
  const pubSub = createPubSub<Topics & Record<string, [unknown]>>();
  return { pubSub, healthy: () => true, close: async () => undefined };
}

/** LISTEN/NOTIFY bus for real PostgreSQL: every instance sharing the database hears every topic. */
export async function createPostgresPubSub(url: string, log: Logger): Promise<PubSubHandle> {
  const target = new PgEventTarget(url, log);
  await target.start();
  const pubSub = createPubSub<Topics & Record<string, [unknown]>>({ eventTarget: target });
  return { pubSub, healthy: () => target.isConnected, close: () => target.close() };
}
