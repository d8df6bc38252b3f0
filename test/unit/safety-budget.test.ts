import fc from 'fast-check';
import type { DecisionOutcome } from '../../src/domain/model';
import { BUDGET_MINUTE_MS, budgetDeltas, inBudgetWindow } from '../../src/services/evidence/safety-budget';
import type { BudgetChange, BudgetDelta } from '../../src/services/evidence/safety-budget';

/**
 * The per-minute safety-budget counters: what a transaction's decision changes add to them, and
 * that, summed over any history, they equal a count of the alerts as they stand.
 */

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

interface TestAlert {
  id: string;
  kind: 'AD1' | 'SUPPLY_RESTORED';
  distributorId: string | null;
  areaKey: string | null;
  receivedAt: Date;
}

const ad1 = (id: string, over: Partial<TestAlert> = {}): TestAlert => ({
  id,
  kind: 'AD1',
  distributorId: '12',
  areaKey: 'SS-1',
  receivedAt: new Date(T0 + 15_000),
  ...over,
});

const change = (
  alert: TestAlert,
  revision: number,
  previousOutcome: DecisionOutcome | null,
  outcome: DecisionOutcome,
): BudgetChange => ({ alert, revision, previousOutcome, outcome });

describe('budgetDeltas', () => {
  it('counts an AD1 as received on its first decision, and as withheld while suppressed or paired', () => {
    expect(
      budgetDeltas([change(ad1('1'), 1, null, 'DELIVERED'), change(ad1('2'), 1, null, 'SUPPRESSED')]),
    ).toEqual([
      { scope: 'AREA', key: 'SS-1', minute: T0, alerts: 2, suppressions: 1 },
      { scope: 'DNO', key: '12', minute: T0, alerts: 2, suppressions: 1 },
    ]);
  });

  it('moves the withheld count on later changes without counting the alert again', () => {
    const a = ad1('1');
    expect(budgetDeltas([change(a, 2, 'HELD', 'SUPPRESSED')])).toEqual([
      { scope: 'AREA', key: 'SS-1', minute: T0, alerts: 0, suppressions: 1 },
      { scope: 'DNO', key: '12', minute: T0, alerts: 0, suppressions: 1 },
    ]);
    expect(budgetDeltas([change(a, 3, 'SUPPRESSED', 'RELEASED')])).toEqual([
      { scope: 'AREA', key: 'SS-1', minute: T0, alerts: 0, suppressions: -1 },
      { scope: 'DNO', key: '12', minute: T0, alerts: 0, suppressions: -1 },
    ]);
    // SUPPRESSED -> PAIRED keeps it withheld; HELD -> DELIVERED never was: nothing to write.
    expect(
      budgetDeltas([change(a, 3, 'SUPPRESSED', 'PAIRED'), change(ad1('2'), 2, 'HELD', 'DELIVERED')]),
    ).toEqual([]);
  });

  it('counts by the minute the AD1 was received in, whenever it is decided', () => {
    const late = ad1('1', { receivedAt: new Date(T0 - 1) });
    expect(budgetDeltas([change(late, 4, 'HELD', 'SUPPRESSED')]).map((d) => d.minute)).toEqual([
      T0 - BUDGET_MINUTE_MS,
      T0 - BUDGET_MINUTE_MS,
    ]);
  });

  it('counts an unrouted AD1 in its area only, and one without an area for its DNO only', () => {
    expect(
      budgetDeltas([
        change(ad1('1', { distributorId: null }), 1, null, 'DELIVERED'),
        change(ad1('2', { areaKey: null, distributorId: '14' }), 1, null, 'DELIVERED'),
      ]).map((d) => `${d.scope}:${d.key}`),
    ).toEqual(['AREA:SS-1', 'DNO:14']);
  });

  it('ignores restores', () => {
    expect(budgetDeltas([change(ad1('1', { kind: 'SUPPLY_RESTORED' }), 1, null, 'SUPPRESSED')])).toEqual([]);
  });

  it('leaves out rows whose changes cancel out within the transaction', () => {
    const a = ad1('1');
    expect(
      budgetDeltas([change(a, 2, 'HELD', 'SUPPRESSED'), change(a, 3, 'SUPPRESSED', 'RELEASED')]),
    ).toEqual([]);
  });
});

describe('inBudgetWindow', () => {
  const since = new Date(T0 + 30_000);
  it('counts an AD1 while the minute it was received in overlaps the window', () => {
    expect(inBudgetWindow(new Date(T0), since)).toBe(true);
    expect(inBudgetWindow(new Date(T0 + 59_999), since)).toBe(true);
    expect(inBudgetWindow(new Date(T0 - 1), since)).toBe(false);
  });
  it('counts nothing of a minute that ends exactly where the window starts', () => {
    expect(inBudgetWindow(new Date(T0 - 1), new Date(T0))).toBe(false);
    expect(inBudgetWindow(new Date(T0), new Date(T0))).toBe(true);
  });
});

describe('counters summed over any history', () => {
  const outcome = fc.constantFrom<DecisionOutcome>('DELIVERED', 'HELD', 'SUPPRESSED', 'PAIRED', 'RELEASED');
  const history = fc.array(
    fc.record({
      kind: fc.constantFrom<'AD1' | 'SUPPLY_RESTORED'>('AD1', 'AD1', 'AD1', 'SUPPLY_RESTORED'),
      distributorId: fc.constantFrom('10', '12', null),
      areaKey: fc.constantFrom('A', 'B', 'C', null),
      receivedOffset: fc.integer({ min: 0, max: 5 * BUDGET_MINUTE_MS }),
      outcomes: fc.array(outcome, { minLength: 1, maxLength: 6 }),
    }),
    { maxLength: 30 },
  );

  it('equal a count of the alerts as they stand, however the changes are split into transactions', () => {
    fc.assert(
      fc.property(history, fc.integer({ min: 1, max: 7 }), (alerts, txSize) => {
        // Every change of every alert, interleaved across alerts, in transactions of txSize.
        const changes: BudgetChange[] = [];
        const finals: { alert: TestAlert; outcome: DecisionOutcome }[] = [];
        alerts.forEach((a, i) => {
          const alert: TestAlert = {
            id: String(i),
            kind: a.kind,
            distributorId: a.distributorId,
            areaKey: a.areaKey,
            receivedAt: new Date(T0 + a.receivedOffset),
          };
          let previous: DecisionOutcome | null = null;
          a.outcomes.forEach((next, r) => {
            changes.push(change(alert, r + 1, previous, next));
            previous = next;
          });
          finals.push({ alert, outcome: previous! });
        });
        const stored = new Map<string, { alerts: number; suppressions: number }>();
        for (let i = 0; i < changes.length; i += txSize) {
          const deltas = budgetDeltas(changes.slice(i, i + txSize));
          expect(deltas).toEqual([...deltas].sort(compare));
          for (const d of deltas) {
            expect(d.alerts !== 0 || d.suppressions !== 0).toBe(true);
            const id = `${d.scope}/${d.key}/${d.minute}`;
            const s = stored.get(id) ?? { alerts: 0, suppressions: 0 };
            stored.set(id, { alerts: s.alerts + d.alerts, suppressions: s.suppressions + d.suppressions });
          }
        }
        const expected = new Map<string, { alerts: number; suppressions: number }>();
        for (const { alert, outcome: last } of finals) {
          if (alert.kind !== 'AD1') continue;
          const minute = Math.floor(alert.receivedAt.getTime() / BUDGET_MINUTE_MS) * BUDGET_MINUTE_MS;
          for (const [scope, key] of [
            ['DNO', alert.distributorId],
            ['AREA', alert.areaKey],
          ] as const) {
            if (key === null) continue;
            const id = `${scope}/${key}/${minute}`;
            const e = expected.get(id) ?? { alerts: 0, suppressions: 0 };
            const withheld = last === 'SUPPRESSED' || last === 'PAIRED' ? 1 : 0;
            expected.set(id, { alerts: e.alerts + 1, suppressions: e.suppressions + withheld });
          }
        }
        const nonZero = (m: Map<string, { alerts: number; suppressions: number }>) =>
          new Map([...m].filter(([, c]) => c.alerts !== 0 || c.suppressions !== 0));
        expect(nonZero(stored)).toEqual(nonZero(expected));
      }),
    );
  });
});

function compare(a: BudgetDelta, b: BudgetDelta): number {
  if (a.scope !== b.scope) return a.scope < b.scope ? -1 : 1;
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  return a.minute - b.minute;
}
