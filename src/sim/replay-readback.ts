import type { DataSource } from 'typeorm';
import type { Services } from '../services';
import { DNO_AREAS } from './scenario';
import { deliveriesFromStream } from './scoreboard';
import type { StreamEntry } from './scoreboard';

/**
 * The end of a replay: what each DNO's stream (FILTER) said about each AD1 (delivered, and perhaps
 * withdrawn after: a correction), the safety-budget releases, and every AD1's decision and ledger.
 */

export interface Ad1Decision {
  readonly alertId: string;
  readonly outcome: string | null;
  readonly reason: string | null;
  /** The ledger, oldest first: outcome [reason] @ decidedAt. */
  readonly history: string[];
}

export async function readBack(
  services: Services,
  dataSource: DataSource,
  alertKey: Map<string, string>,
): Promise<{
  deliveredAt: Map<string, number>;
  withdrawnAt: Map<string, number>;
  budgetSpent: Set<string>;
  decisions: Map<string, Ad1Decision>;
  outboxMessages: number;
  withdrawnMessages: number;
  ledgerCorrections: number;
}> {
  // What each FILTER DNO's stream said about each AD1: delivered, and perhaps withdrawn after.
  const entries: StreamEntry[] = [];
  let outboxMessages = 0;
  let withdrawnMessages = 0;
  for (const { distributorId } of DNO_AREAS) {
    let after = '0';
    for (;;) {
      const page = await services.delivery.read(distributorId, after, 5000);
      if (page.length === 0) break;
      outboxMessages += page.length;
      for (const m of page) {
        const kind: string = m.kind;
        if (kind === 'WITHDRAWN') withdrawnMessages++;
        const key = alertKey.get(m.payload.alert?.id);
        if (key) entries.push({ key, kind, at: m.createdAt.getTime() });
      }
      after = page[page.length - 1].sequence;
    }
  }
  const { deliveredAt, withdrawnAt } = deliveriesFromStream(entries);
  const budgetRows = (await dataSource.query(
    `SELECT DISTINCT alert_id::text AS id FROM alert_decision WHERE reason = 'SAFETY_BUDGET_SPENT'`,
  )) as { id: string }[];
  const budgetSpent = new Set(budgetRows.map((r) => alertKey.get(r.id)).filter((k): k is string => !!k));
  const alerts = (await dataSource.query(
    `SELECT id::text AS id, outcome, reason FROM alert WHERE kind = 'AD1'`,
  )) as { id: string; outcome: string | null; reason: string | null }[];
  const ledger = (await dataSource.query(
    `SELECT alert_id::text AS id, outcome, reason, late, decided_at FROM alert_decision ORDER BY alert_id, revision`,
  )) as { id: string; outcome: string; reason: string; late: boolean; decided_at: Date }[];
  const history = new Map<string, string[]>();
  const corrected = ledgerCorrections(ledger);
  for (const l of ledger) {
    const list = history.get(l.id) ?? [];
    list.push(`${l.outcome} [${l.reason}]${l.late ? ' late' : ''} @ ${l.decided_at.toISOString()}`);
    history.set(l.id, list);
  }
  const decisions = new Map<string, Ad1Decision>();
  for (const a of alerts) {
    const key = alertKey.get(a.id);
    if (key)
      decisions.set(key, {
        alertId: a.id,
        outcome: a.outcome,
        reason: a.reason,
        history: history.get(a.id) ?? [],
      });
  }
  return {
    deliveredAt,
    withdrawnAt,
    budgetSpent,
    decisions,
    outboxMessages,
    withdrawnMessages,
    ledgerCorrections: corrected.size,
  };
}

/** Alerts whose ledger has a DELIVERED or RELEASED decision followed by SUPPRESSED or PAIRED. */
function ledgerCorrections(ledger: readonly { id: string; outcome: string }[]): Set<string> {
  const sent = new Set<string>();
  const corrected = new Set<string>();
  for (const l of ledger) {
    if (l.outcome === 'DELIVERED' || l.outcome === 'RELEASED') sent.add(l.id);
    else if ((l.outcome === 'SUPPRESSED' || l.outcome === 'PAIRED') && sent.has(l.id)) corrected.add(l.id);
  }
  return corrected;
}
