import type { DecisionOutcome } from '../../domain/model';

export type AlertKind = 'AD1' | 'SUPPLY_RESTORED';
export type IngestKind = AlertKind | 'ACTIVATION_OUTCOME' | 'CH_FIRMWARE_ACTIVATION';

/**
 * What the services report as they work, for metrics. Called after commit only, so counts
 * never include work that rolled back. The default does nothing (scripts, tests).
 */
export interface ServiceObserver {
  /** A subscriber joined (+1) or left (-1) a DNO's stream. */
  subscribers(distributorId: string, delta: 1 | -1): void;
  /** Decisions (first or revised) committed. */
  decided(kind: AlertKind, outcome: DecisionOutcome, reason: string, count: number): void;
  /** Alerts in a committed ingest batch: stored anew or recognised as duplicates. */
  ingested(kind: IngestKind, result: 'stored' | 'duplicate', count: number): void;
  /** An ingest batch that wrote nothing, with the error it failed on. */
  ingestFailed(error: unknown): void;
  /** AD1s found still HELD when they must have been decided, released (HOLD_CEILING_ENFORCED). */
  heldPastCeiling(count: number): void;
}

export const silentObserver: ServiceObserver = {
  subscribers: () => undefined,
  decided: () => undefined,
  ingested: () => undefined,
  ingestFailed: () => undefined,
  heldPastCeiling: () => undefined,
};

/** Groups items by a key, keeping the first item of each group and the group's size. */
export function countBy<T>(items: readonly T[], key: (item: T) => string): { item: T; count: number }[] {
  const groups = new Map<string, { item: T; count: number }>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.count += 1;
    else groups.set(k, { item, count: 1 });
  }
  return [...groups.values()];
}
