/**
 * Small pure helpers shared by the engine files: minute arithmetic, ISO rendering for evidence,
 * and case-insensitive comparison of identifiers that arrive in mixed case from DUIS.
 */

const MINUTE_MS = 60_000;

/** `instant` moved by `minutes` (may be negative). A new Date; the input is never mutated. */
export function addMinutes(instant: Date, minutes: number): Date {
  return new Date(instant.getTime() + minutes * MINUTE_MS);
}

/** ISO 8601 UTC text, the form dates take inside JSON evidence. */
export function iso(instant: Date): string {
  return instant.toISOString();
}

/** `iso` for an optional instant. */
export function isoOrNull(instant: Date | null | undefined): string | null {
  return instant ? instant.toISOString() : null;
}

/**
 * Equality of hex identifiers (GUIDs, manufacturer and model codes, firmware versions, image
 * hashes). The ingest layer normalises to upper case, but the engine must not suppress or fail to
 * release because one adapter forgot: comparing case-insensitively costs nothing.
 */
export function sameCode(a: string, b: string): boolean {
  return a.trim().toUpperCase() === b.trim().toUpperCase();
}

/** The earlier of two instants. */
export function earliest(a: Date, b: Date): Date {
  return a.getTime() <= b.getTime() ? a : b;
}

/** Sorts text the same way on every machine (no locale), so evidence lists are stable. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A sorted copy of `values` with duplicates removed. */
export function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort(compareText);
}
