import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { OverloadedError } from '../domain/errors';
import type { Services } from '../services';
import type { IngestService } from '../services/ingest/ingest.service';
import { Semaphore } from '../semaphore';

/**
 * Back-pressure for alert ingestion. At most `maxInFlight` ingest batches run at once in this
 * process; up to `maxQueued` more wait, first come first served, each for at most `maxWaitMs`;
 * anything beyond is refused at once with OVERLOADED (HTTP 503 and Retry-After). A refused batch
 * never started its transaction, so it wrote nothing and the sender simply retries it.
 *
 * Without this, every batch of a storm goes straight to the connection pool: its queue grows
 * without bound, each waiting request holds its parsed batch in memory, latencies reach the
 * pool's connect timeout and the caller gets UNAVAILABLE as if the database were down, while
 * the subscribers and the hold scheduler starve for connections. Alerts are never shed
 * selectively: a whole batch is refused or run, and what is refused comes back by retry.
 */
export interface IngestAdmission {
  readonly maxInFlight: number;
  readonly maxQueued: number;
  readonly maxWaitMs: number;
}

/** Retry-After for a refused batch: by then a slot has usually freed up. */
const RETRY_AFTER_SECONDS = 1;

export class IngestGate {
  private readonly slots: Semaphore;

  constructor(settings: IngestAdmission) {
    this.slots = new Semaphore({
      limit: settings.maxInFlight,
      maxQueued: settings.maxQueued,
      maxWaitMs: settings.maxWaitMs,
      refusal: () => new OverloadedError(RETRY_AFTER_SECONDS, settings.maxInFlight),
    });
  }

  /** Runs `work` when a slot is free, or throws OverloadedError without running it. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.slots.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }
}

/**
 * The services as the transports see them: ingestAlerts goes through the gate, on every path
 * (GraphQL over HTTP and WebSocket, POST /duis). Everything else is untouched. `onRefused`
 * hears of every refusal (the ingest failure metric).
 */
export function withIngestGate(
  services: Services,
  gate: IngestGate,
  onRefused: (error: OverloadedError) => void = () => undefined,
): Services {
  const inner = services.ingest;
  const ingest: IngestService = Object.create(inner);
  ingest.ingestAlerts = (principal, inputs) =>
    gate
      .run(() => inner.ingestAlerts(principal, inputs))
      .catch((error: unknown) => {
        if (error instanceof OverloadedError) onRefused(error);
        throw error;
      });
  return { ...services, ingest };
}

/** Over HTTP a refused batch is 503 with Retry-After, so plain HTTP clients and proxies back off too. */
export function overloadedHttpPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, errors }) {
          const overloaded = errors
            ?.map((e) => unwrapResolverError(e))
            .find((e): e is OverloadedError => e instanceof OverloadedError);
          if (!overloaded) return;
          response.http.status = 503;
          response.http.headers.set('retry-after', String(overloaded.retryAfterSeconds));
        },
      };
    },
  };
}
