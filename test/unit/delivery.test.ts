import fc from 'fast-check';
import { messagesFor } from '../../src/domain/delivery';
import type { DnoMessageKind } from '../../src/domain/delivery';
import { DECISION_OUTCOMES, DELIVERY_PREFERENCES } from '../../src/domain/model';
import type { DecisionOutcome, DeliveryPreference } from '../../src/domain/model';

type Row = [DecisionOutcome | null, DecisionOutcome, DeliveryPreference, DnoMessageKind[]];

describe('messagesFor: what a DNO receives for an AD1 decision change', () => {
  test.each<Row>([
    // Not a candidate: delivered at once, whatever the preference.
    [null, 'DELIVERED', 'FILTER', ['AD1']],
    [null, 'DELIVERED', 'PAIR', ['AD1']],
    [null, 'DELIVERED', 'ANNOTATE', ['AD1']],
    [null, 'DELIVERED', 'RAW', ['AD1']],
    // Held: only RAW gets it now.
    [null, 'HELD', 'FILTER', []],
    [null, 'HELD', 'PAIR', []],
    [null, 'HELD', 'ANNOTATE', []],
    [null, 'HELD', 'RAW', ['AD1']],
    ['HELD', 'HELD', 'RAW', []],
    // Confirmed OTA-induced.
    ['HELD', 'SUPPRESSED', 'FILTER', []],
    ['HELD', 'SUPPRESSED', 'ANNOTATE', ['AD1']],
    ['HELD', 'SUPPRESSED', 'RAW', []],
    ['HELD', 'PAIRED', 'PAIR', ['AD1', 'OTA_INDUCED']],
    ['HELD', 'PAIRED', 'RAW', ['OTA_INDUCED']],
    // Released from a hold: genuine, sent now (RAW had it already).
    ['HELD', 'RELEASED', 'FILTER', ['AD1']],
    ['HELD', 'RELEASED', 'PAIR', ['AD1']],
    ['HELD', 'RELEASED', 'ANNOTATE', ['AD1']],
    ['HELD', 'RELEASED', 'RAW', []],
    // Released late, after a suppression: every preference learns.
    ['SUPPRESSED', 'RELEASED', 'FILTER', ['RELEASED_AD1']],
    ['SUPPRESSED', 'RELEASED', 'ANNOTATE', ['RELEASED_AD1']],
    ['PAIRED', 'RELEASED', 'PAIR', ['RELEASED_AD1']],
    ['SUPPRESSED', 'RELEASED', 'RAW', ['RELEASED_AD1']],
  ])('%s -> %s under %s sends %j', (previous, next, preference, expected) => {
    expect(messagesFor({ alertKind: 'AD1', previous, next, preference })).toEqual(expected);
  });
});

describe('messagesFor: restores follow their AD1', () => {
  test.each<Row>([
    [null, 'DELIVERED', 'FILTER', ['SUPPLY_RESTORED']],
    [null, 'HELD', 'FILTER', []],
    [null, 'HELD', 'RAW', ['SUPPLY_RESTORED']],
    ['HELD', 'SUPPRESSED', 'FILTER', []],
    ['HELD', 'SUPPRESSED', 'ANNOTATE', ['SUPPLY_RESTORED']],
    ['HELD', 'PAIRED', 'PAIR', ['SUPPLY_RESTORED']],
    ['SUPPRESSED', 'RELEASED', 'FILTER', ['SUPPLY_RESTORED']],
    ['PAIRED', 'RELEASED', 'PAIR', []],
  ])('%s -> %s under %s sends %j', (previous, next, preference, expected) => {
    expect(messagesFor({ alertKind: 'SUPPLY_RESTORED', previous, next, preference })).toEqual(expected);
  });
});

const outcome = fc.constantFrom(...DECISION_OUTCOMES);
const preference = fc.constantFrom(...DELIVERY_PREFERENCES);

describe('delivery invariants', () => {
  // Any path of decisions an alert can take through the engine's state machine.
  const path = fc.oneof(
    fc.constant<DecisionOutcome[]>(['DELIVERED']),
    fc.constant<DecisionOutcome[]>(['HELD', 'RELEASED']),
    fc.constant<DecisionOutcome[]>(['HELD', 'SUPPRESSED']),
    fc.constant<DecisionOutcome[]>(['HELD', 'SUPPRESSED', 'RELEASED']),
    fc.constant<DecisionOutcome[]>(['HELD', 'PAIRED']),
    fc.constant<DecisionOutcome[]>(['HELD', 'PAIRED', 'RELEASED']),
    fc.constant<DecisionOutcome[]>(['HELD', 'HELD', 'RELEASED']),
  );
  const send = (steps: DecisionOutcome[], pref: DeliveryPreference) => {
    let previous: DecisionOutcome | null = null;
    const sent: DnoMessageKind[] = [];
    for (const next of steps) {
      sent.push(...messagesFor({ alertKind: 'AD1', previous, next, preference: pref }));
      previous = next;
    }
    return sent;
  };

  test('the AD1 itself is sent at most once, and exactly once when it ends genuine', () => {
    fc.assert(
      fc.property(path, preference, (steps, pref) => {
        const sent = send(steps, pref).filter((k) => k === 'AD1' || k === 'RELEASED_AD1');
        const final = steps.at(-1)!;
        if (final === 'DELIVERED' || final === 'RELEASED') expect(sent.length).toBeGreaterThanOrEqual(1);
        expect(sent.filter((k) => k === 'AD1').length).toBeLessThanOrEqual(1);
      }),
    );
  });

  test('FILTER never sends an OTA-induced alert, RAW always sends the AD1 first', () => {
    fc.assert(
      fc.property(path, (steps) => {
        const filter = send(steps, 'FILTER');
        if (steps.at(-1) === 'SUPPRESSED') expect(filter).toEqual([]);
        expect(send(steps, 'RAW')[0]).toBe('AD1');
      }),
    );
  });

  test('a decision that does not change sends nothing', () => {
    fc.assert(
      fc.property(outcome, preference, (o, pref) => {
        expect(messagesFor({ alertKind: 'AD1', previous: o, next: o, preference: pref })).toEqual([]);
        expect(messagesFor({ alertKind: 'SUPPLY_RESTORED', previous: o, next: o, preference: pref })).toEqual(
          [],
        );
      }),
    );
  });
});
