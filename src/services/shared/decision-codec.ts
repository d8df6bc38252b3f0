import type { AlertDecision, SupplyRestoredDecision } from '../../domain/engine';

/**
 * The ledger stores each decision as the engine returned it, in jsonb. Dates travel as ISO text
 * and are revived here, so a decision read back compares equal (sameDecision) to the one stored.
 */
export function decodeAlertDecision(json: unknown): AlertDecision {
  const d = json as Record<string, unknown>;
  const window = d.window as { from: string; to: string; anchor: string; anchoredOnActual: boolean } | null;
  return {
    ...(d as unknown as AlertDecision),
    decidedAt: new Date(d.decidedAt as string),
    dueAt: d.dueAt ? new Date(d.dueAt as string) : null,
    window: window
      ? {
          from: new Date(window.from),
          to: new Date(window.to),
          anchor: new Date(window.anchor),
          anchoredOnActual: window.anchoredOnActual,
        }
      : null,
    shadow: d.shadow ? decodeAlertDecision(d.shadow) : null,
  };
}

export function decodeRestoreDecision(json: unknown): SupplyRestoredDecision {
  const d = json as Record<string, unknown>;
  return {
    ...(d as unknown as SupplyRestoredDecision),
    decidedAt: new Date(d.decidedAt as string),
    dueAt: d.dueAt ? new Date(d.dueAt as string) : null,
  };
}
