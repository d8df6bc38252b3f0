import DataLoader from 'dataloader';
import type { AlertEntity } from '../../entities';

/**
 * An alert as the `alert(id)` query returns it now: its row. (Not its ledger: the decision's
 * evidence is most of a ledger entry's bytes, and reading it with every page cost more than the
 * rare subscriber that asks for `alert { decision }` does reading it for itself.)
 */
export interface AlertNow {
  readonly alert: AlertEntity;
}

/** Reads the current state of alerts by ID; a missing key is an alert no longer on record. */
export type ReadAlertsNow = (ids: readonly string[]) => Promise<Map<string, AlertNow>>;

export interface CurrentAlertsOptions {
  /**
   * How long a state read stays good enough to hand out (milliseconds) when nothing on this
   * instance changed the alert since: the bound on showing a change made on another instance.
   */
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
 * (docs/BENCHMARKS.md, 2026-12-06).
 *
 * States come from the outbox pages the stream reads: a live page's messages carry their alert as
 * it was written, which is its state until its next decision; a replayed page is read with its
 * alerts' rows. A state is handed to every subscriber until a newer revision of the alert is known
 * (this instance's decisions say so at once: `forget`) or it is older than `freshMs` (the bound on
 * a change made on another instance); then it is read again, in one batch for the rest of the
 * subscriber's page, and the reads several subscribers ask for in one tick are one query.
 */
export class CurrentAlerts {
  /**
   * By alert ID: its state (undefined when only a newer revision than any state read is known),
   * its revision, when the read of it started, and a serial number for the state.
   */
  private readonly states = new Map<
    string,
    {
      readonly state: AlertNow | null | undefined;
      readonly revision: number;
      readonly readAt: number;
      readonly serial: number;
    }
  >();
  private readonly loader: DataLoader<string, AlertNow | null>;
  /** Batched state reads made (for tests and profiles). */
  reads = 0;
  /** Numbers each state remembered: two events showing the same numbers show the same rows. */
  private serial = 0;

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

  /** The serial of the state `peek` would hand out now (undefined when it would hand out none). */
  serialOf(id: string): number | undefined {
    return this.peek(id) === undefined ? undefined : this.states.get(id)!.serial;
  }

  /** A state good enough to hand out, or undefined (never read, superseded, or too old). */
  peek(id: string): AlertNow | null | undefined {
    const entry = this.states.get(id);
    if (!entry || entry.state === undefined || this.options.now() - entry.readAt > this.options.freshMs)
      return undefined;
    return entry.state;
  }

  /** The states of `ids`, reading (in one batch) those not good enough. */
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

  /**
   * A decision on this instance gave the alert `revision`: a state older than it is no longer
   * handed out, and a read that started before the decision cannot put one back.
   */
  forget(id: string, revision: number): void {
    const entry = this.states.get(id);
    if (entry && entry.revision >= revision) return;
    this.set(id, { state: undefined, revision, readAt: this.options.now(), serial: ++this.serial });
  }

  /** States read elsewhere (an outbox page, or its messages as written) by a read that started at `readAt`. */
  put(states: ReadonlyMap<string, AlertNow | null>, readAt: number): void {
    for (const [id, state] of states) this.remember(id, state, readAt);
  }

  private remember(id: string, state: AlertNow | null, readAt: number): void {
    // An alert no longer on record (retention) does not come back: it outranks every revision.
    const revision = state ? state.alert.revision : Number.POSITIVE_INFINITY;
    const entry = this.states.get(id);
    if (entry && revision < entry.revision) return;
    if (entry && revision === entry.revision && entry.state !== undefined) {
      // The same revision again: the same row, seen more recently.
      if (readAt > entry.readAt) this.set(id, { ...entry, readAt });
      return;
    }
    this.set(id, { state, revision, readAt, serial: ++this.serial });
  }

  private set(
    id: string,
    entry: { state: AlertNow | null | undefined; revision: number; readAt: number; serial: number },
  ): void {
    this.states.delete(id);
    this.states.set(id, entry);
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
