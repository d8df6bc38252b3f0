import { Client } from 'pg';
import { messagesFor } from '../../../src/domain/delivery';
import type { DecisionOutcome, DeliveryPreference } from '../../../src/domain/model';
import { BUDGET_COUNTER_MISMATCHES } from '../../support/budget';
import type { StreamMessage } from '../../support/consumer';

/**
 * What must hold in the database after any fault, read straight from the tables:
 *
 * - every acknowledged alert is stored once, under the ID the client was given, and nothing else is;
 * - every alert has a decision, its ledger runs 1..revision with no gap, the alert row mirrors the
 *   latest entry, no timer fired twice for it and no final decision repeats the one before it (an
 *   alert decided twice);
 * - the safety-budget counters equal a count of the alerts as they stand;
 * - every DNO's outbox runs 1..last_sequence with no gap, and holds exactly the messages the
 *   ledger's transitions call for (src/domain/delivery.ts), each once, in decision order.
 *
 * Each check returns a list of problems (empty when all is well), so a failure says what broke.
 */

export interface StoreReport {
  readonly alerts: number;
  readonly outcomes: Record<string, number>;
  readonly messages: Record<string, number>;
  /** Newest sequence per DNO. */
  readonly lastSequence: Record<string, number>;
  readonly problems: string[];
}

export interface OutboxRow {
  readonly sequence: string;
  readonly kind: string;
  readonly alertId: string;
  readonly revision: number;
}

export class Store {
  private constructor(private readonly client: Client) {}

  static async open(url: string): Promise<Store> {
    const client = new Client({ connectionString: url, application_name: 'fault-test-checks' });
    await client.connect();
    return new Store(client);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  /** Alerts still held, and alerts whose timer is set (both 0 once every hold has been decided). */
  async pending(): Promise<{ held: number; timers: number; overdue: number }> {
    const { rows } = await this.client.query<{ held: number; timers: number; overdue: number }>(
      `SELECT count(*) FILTER (WHERE outcome = 'HELD')::int AS held,
              count(*) FILTER (WHERE due_at IS NOT NULL)::int AS timers,
              count(*) FILTER (WHERE due_at < now() - interval '5 seconds')::int AS overdue
         FROM alert`,
    );
    return rows[0];
  }

  async query<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.client.query<T>(sql, params)).rows;
  }

  async outbox(distributorId: string): Promise<OutboxRow[]> {
    const { rows } = await this.client.query<OutboxRow>(
      `SELECT sequence::text AS sequence, kind, alert_id::text AS "alertId", decision_revision AS revision
         FROM dno_outbox WHERE distributor_id = $1 ORDER BY dno_outbox.sequence`,
      [distributorId],
    );
    return rows;
  }

  /**
   * Every invariant above. `acknowledged` maps natural keys to the IDs the clients were given; with
   * `exhaustive`, the table must hold those alerts and no others.
   */
  async verify(acknowledged: ReadonlyMap<string, string>, exhaustive = true): Promise<StoreReport> {
    const problems: string[] = [];
    const note = (list: string[], what: string) => {
      if (list.length) problems.push(`${what} (${list.length}): ${list.slice(0, 5).join('; ')}`);
    };

    const alerts = (
      await this.client.query<{
        id: string;
        natural_key: string;
        kind: 'AD1' | 'SUPPLY_RESTORED';
        distributor_id: string | null;
        outcome: DecisionOutcome | null;
        reason: string | null;
        revision: number;
      }>(
        `SELECT id::text AS id, natural_key, kind, distributor_id, outcome, reason, revision FROM alert ORDER BY alert.id`,
      )
    ).rows;
    const byKey = new Map(alerts.map((a) => [a.natural_key, a]));
    const storedWrong: string[] = [];
    for (const [key, id] of acknowledged) {
      const row = byKey.get(key);
      if (!row) storedWrong.push(`${key} acknowledged as ${id} but not stored`);
      else if (row.id !== id) storedWrong.push(`${key} acknowledged as ${id} but stored as ${row.id}`);
    }
    note(storedWrong, 'acknowledged alerts not stored as acknowledged');
    if (exhaustive) {
      note(
        alerts.filter((a) => !acknowledged.has(a.natural_key)).map((a) => `${a.id} ${a.natural_key}`),
        'stored alerts nobody acknowledged',
      );
    }

    const ledger = (
      await this.client.query<{
        alert_id: string;
        revision: number;
        outcome: DecisionOutcome;
        reason: string;
        trigger: string;
      }>(
        `SELECT alert_id::text AS alert_id, revision, outcome, reason, trigger FROM alert_decision ORDER BY alert_decision.alert_id, revision`,
      )
    ).rows;
    const ledgerOf = new Map<string, typeof ledger>();
    for (const row of ledger) {
      const list = ledgerOf.get(row.alert_id) ?? [];
      list.push(row);
      ledgerOf.set(row.alert_id, list);
    }
    const undecided: string[] = [];
    const gaps: string[] = [];
    const mirror: string[] = [];
    const repeats: string[] = [];
    for (const a of alerts) {
      const entries = ledgerOf.get(a.id) ?? [];
      if (a.outcome === null || entries.length === 0) {
        undecided.push(a.id);
        continue;
      }
      if (entries.some((e, i) => e.revision !== i + 1) || entries.length !== a.revision) {
        gaps.push(
          `${a.id}: revisions ${entries.map((e) => e.revision).join(',')} vs alert revision ${a.revision}`,
        );
      }
      const last = entries[entries.length - 1];
      if (last.outcome !== a.outcome || last.reason !== a.reason) {
        mirror.push(`${a.id}: alert ${a.outcome}/${a.reason}, ledger ${last.outcome}/${last.reason}`);
      }
      // A hold may be re-recorded as its evidence changes (HELD -> HELD); a timer fires once, and a
      // final decision is never recorded twice in a row.
      const timers = entries.filter((e) => e.trigger === 'TIMER').length;
      const refinal = entries.some(
        (e, i) =>
          i > 0 &&
          e.outcome !== 'HELD' &&
          e.outcome === entries[i - 1].outcome &&
          e.reason === entries[i - 1].reason,
      );
      if (timers > 1 || refinal) {
        repeats.push(`${a.id}: ${entries.map((e) => `${e.outcome}/${e.reason}/${e.trigger}`).join(' -> ')}`);
      }
    }
    note(undecided, 'alerts without a decision');
    note(gaps, 'ledgers with gaps');
    note(mirror, 'alert rows that do not mirror their latest decision');
    note(repeats, 'alerts decided twice the same way');
    note(
      (await this.client.query<Record<string, unknown>>(BUDGET_COUNTER_MISMATCHES)).rows.map((r) =>
        JSON.stringify(r),
      ),
      'safety-budget counters that differ from a count of the alerts',
    );

    const preferences = new Map(
      (
        await this.client.query<{ distributor_id: string; preference: DeliveryPreference }>(
          'SELECT distributor_id, preference FROM delivery_preference',
        )
      ).rows.map((r) => [r.distributor_id, r.preference]),
    );
    const outbox = (
      await this.client.query<{
        distributor_id: string;
        sequence: string;
        kind: string;
        alert_id: string;
        decision_revision: number;
      }>(
        `SELECT distributor_id, sequence::text AS sequence, kind, alert_id::text AS alert_id, decision_revision
           FROM dno_outbox ORDER BY distributor_id, dno_outbox.sequence`,
      )
    ).rows;
    const sequences = new Map(
      (
        await this.client.query<{ distributor_id: string; last: string }>(
          'SELECT distributor_id, last_sequence::text AS last FROM dno_sequence',
        )
      ).rows.map((r) => [r.distributor_id, Number(r.last)]),
    );
    const perDno = new Map<string, typeof outbox>();
    for (const row of outbox) {
      const list = perDno.get(row.distributor_id) ?? [];
      list.push(row);
      perDno.set(row.distributor_id, list);
    }
    const holes: string[] = [];
    for (const distributorId of new Set([...perDno.keys(), ...sequences.keys()])) {
      const rows = perDno.get(distributorId) ?? [];
      const last = sequences.get(distributorId) ?? 0;
      const firstWrong = rows.findIndex((r, i) => Number(r.sequence) !== i + 1);
      if (firstWrong >= 0 || rows.length !== last) {
        holes.push(
          `DNO ${distributorId}: ${rows.length} messages, last_sequence ${last}, first out of place at position ${firstWrong + 1}`,
        );
      }
    }
    note(holes, 'outboxes with gaps');

    const sent = new Map<string, string[]>();
    for (const row of outbox) {
      const list = sent.get(row.alert_id) ?? [];
      list.push(`${row.kind}@${row.decision_revision}`);
      sent.set(row.alert_id, list);
    }
    const wrongMessages: string[] = [];
    for (const a of alerts) {
      const expected: string[] = [];
      if (a.distributor_id !== null) {
        let previous: DecisionOutcome | null = null;
        for (const e of ledgerOf.get(a.id) ?? []) {
          const kinds = messagesFor({
            alertKind: a.kind,
            previous,
            next: e.outcome,
            preference: preferences.get(a.distributor_id) ?? 'FILTER',
          });
          expected.push(...kinds.map((k) => `${k}@${e.revision}`));
          previous = e.outcome;
        }
      }
      const actual = sent.get(a.id) ?? [];
      if (expected.join(',') !== actual.join(',')) {
        wrongMessages.push(
          `alert ${a.id}: expected [${expected.join(',')}], outbox has [${actual.join(',')}]`,
        );
      }
    }
    note(wrongMessages, 'alerts whose outbox messages differ from what their decisions call for');

    const outcomes: Record<string, number> = {};
    for (const a of alerts) {
      const k = `${a.kind}/${a.outcome}`;
      outcomes[k] = (outcomes[k] ?? 0) + 1;
    }
    const messages: Record<string, number> = {};
    for (const row of outbox) messages[row.kind] = (messages[row.kind] ?? 0) + 1;
    return {
      alerts: alerts.length,
      outcomes,
      messages,
      lastSequence: Object.fromEntries(sequences),
      problems,
    };
  }
}

/**
 * A consumer that started at `after` must have received exactly the outbox after it: every
 * sequence once, in order, with the same kind and alert.
 */
export function consumerProblems(
  distributorId: string,
  received: readonly StreamMessage[],
  outbox: readonly OutboxRow[],
  after = 0,
): string[] {
  const expected = outbox.filter((r) => Number(r.sequence) > after);
  const problems: string[] = [];
  const n = Math.max(expected.length, received.length);
  for (let i = 0; i < n && problems.length < 5; i++) {
    const e = expected[i];
    const r = received[i];
    if (!e || !r || e.sequence !== r.sequence || e.kind !== r.kind || e.alertId !== r.alertId) {
      problems.push(
        `DNO ${distributorId} position ${i + 1}: expected ${e ? `${e.sequence} ${e.kind} ${e.alertId}` : 'nothing'}, got ${r ? `${r.sequence} ${r.kind} ${r.alertId}` : 'nothing'}`,
      );
    }
  }
  if (received.length !== expected.length) {
    problems.push(
      `DNO ${distributorId}: received ${received.length} messages, outbox holds ${expected.length}`,
    );
  }
  return problems;
}
