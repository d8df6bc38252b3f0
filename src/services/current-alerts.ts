import DataLoader from 'dataloader';
import type { AlertDecisionEntity, AlertEntity } from '../entities';

/** An alert as the `alert(id)` query returns it now: its row and its current ledger entry. */
export interface AlertNow {
  readonly alert: AlertEntity;
  /** The ledger entry of the alert's current revision; null before its first decision. */
  readonly decision: AlertDecisionEntity | null;
}

/** Reads the current state of alerts by ID; a missing key is an alert no longer on record. */
export type ReadAlertsNow = (ids: readonly string[]) => Promise<Map<string, AlertNow>>;

export interface CurrentAlertsOptions {
  /** How long a state read stays good enough to hand out (milliseconds). */
  readonly freshMs: number;
  /** Most states kept (the oldest read go first). */
  readonly capacity: number;
  /** Monotonic milliseconds (performance.now in production). */
  readonly now: () => number;
}

/**
 * The current state of the alerts a DNO's stream is delivering, shared by all of that DNO's
 * subscribers on this instance. Each event shows its alert as a query would now (so a client cache
 * that normalises Alert by id never gets an older outcome from the stream than from a query), but
 * reading it per event per subscriber made delivery cost grow with subscribers times backlog
 * (docs/BENCHMARKS.md, 2026-12-06). Here a state is read once, with the outbox page that carries
 * its message, and handed to every subscriber while it is younger than `freshMs`; older ones are
 * read again in one batch for the rest of a subscriber's page, and reads asked for in the same
 * tick by several subscribers are one query.
 */
export class CurrentAlerts {
  /** By alert ID: its state and when the read of it started; `forgotten` once it changed since. */
  private readonly states = new Map<
    string,
    { readonly state: AlertNow | null; readonly readAt: number; readonly forgotten?: true }
  >();
  private readonly loader: DataLoader<string, AlertNow | null>;
  /** Batched state reads made (for tests and profiles). */
  reads = 0;

  constructor(
    read: ReadAlertsNow,
    private readonly options: CurrentAlertsOptions,
  ) {
    // No cache: the map above is the cache, with an age. The loader only coalesces a tick's asks.
    this.loader = new DataLoader(
      async (ids: readonly string[]) => {
        const readAt = this.options.now();
        this.reads++;
        const unique = [...new Set(ids)];
        const found = await read(unique);
        for (const id of unique) this.remember(id, found.get(id) ?? null, readAt);
        return ids.map((id) => found.get(id) ?? null);
      },
      { cache: false },
    );
  }

  /** A state young enough to hand out, or undefined (never read, or too old). */
  peek(id: string): AlertNow | null | undefined {
    const entry = this.states.get(id);
    if (!entry || entry.forgotten || this.options.now() - entry.readAt > this.options.freshMs)
      return undefined;
    return entry.state;
  }

  /** The states of `ids`, reading (in one batch) those not young enough. */
  async get(ids: readonly string[]): Promise<Map<string, AlertNow | null>> {
    const result = new Map<string, AlertNow | null>();
    const stale: string[] = [];
    for (const id of new Set(ids)) {
      const state = this.peek(id);
      if (state === undefined) stale.push(id);
      else result.set(id, state);
    }
    if (stale.length) {
      const loaded = await this.loader.loadMany(stale);
      stale.forEach((id, i) => {
        const state = loaded[i];
        if (state instanceof Error) throw state;
        result.set(id, state);
      });
    }
    return result;
  }

  /** Forgets an alert's state: it changed, and the next ask reads it again. */
  forget(id: string): void {
    // Remembered as forgotten now, so that a read which started before the change cannot put
    // the older state back when it finishes.
    this.remember(id, null, this.options.now(), true);
  }

  /** Reads the states of `ids` now, whatever their age (an outbox page was just read). */
  async refresh(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const loaded = await this.loader.loadMany(ids);
    const failed = loaded.find((s): s is Error => s instanceof Error);
    if (failed) throw failed;
  }

  private remember(id: string, state: AlertNow | null, readAt: number, forgotten?: true): void {
    const entry = this.states.get(id);
    // A read that started earlier never replaces a later one (two batches in flight at once), nor
    // a change made since it started.
    if (entry && entry.readAt > readAt) return;
    this.states.delete(id);
    this.states.set(id, forgotten ? { state, readAt, forgotten } : { state, readAt });
    if (this.states.size > this.options.capacity) {
      const oldest = this.states.keys().next().value;
      if (oldest !== undefined) this.states.delete(oldest);
    }
  }
}

/** The alert IDs a message shows: its alert and the one it pairs with. */
export function alertIdsOf(message: {
  readonly kind: string;
  readonly payload: { readonly alert: { readonly id: string }; readonly pairedAlertId: string | null };
}): string[] {
  const paired = pairedIdOf(message);
  return paired && paired !== message.payload.alert.id
    ? [message.payload.alert.id, paired]
    : [message.payload.alert.id];
}

/** The alert a message pairs with: OTA_INDUCED, its AD1; a restore, its outage alert. */
export function pairedIdOf(message: {
  readonly kind: string;
  readonly payload: { readonly alert: { readonly id: string }; readonly pairedAlertId: string | null };
}): string | null {
  return message.kind === 'OTA_INDUCED' ? message.payload.alert.id : message.payload.pairedAlertId;
}
