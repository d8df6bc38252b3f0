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
    // Corrected late, after a delivery: late evidence showed it OTA-induced.
    ['DELIVERED', 'SUPPRESSED', 'FILTER', ['WITHDRAWN']],
    ['RELEASED', 'SUPPRESSED', 'FILTER', ['WITHDRAWN']],
    ['DELIVERED', 'PAIRED', 'PAIR', ['OTA_INDUCED']],
    ['RELEASED', 'PAIRED', 'PAIR', ['OTA_INDUCED']],
    ['DELIVERED', 'SUPPRESSED', 'ANNOTATE', ['RECLASSIFIED']],
    ['DELIVERED', 'SUPPRESSED', 'RAW', []],
    ['DELIVERED', 'PAIRED', 'RAW', ['OTA_INDUCED']],
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
    fc.constant<DecisionOutcome[]>(['DELIVERED', 'SUPPRESSED']),
    fc.constant<DecisionOutcome[]>(['DELIVERED', 'SUPPRESSED', 'RELEASED']),
    fc.constant<DecisionOutcome[]>(['DELIVERED', 'PAIRED']),
    fc.constant<DecisionOutcome[]>(['DELIVERED', 'PAIRED', 'RELEASED']),
    fc.constant<DecisionOutcome[]>(['HELD', 'RELEASED', 'SUPPRESSED']),
    fc.constant<DecisionOutcome[]>(['HELD', 'RELEASED', 'SUPPRESSED', 'RELEASED']),
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

  test('FILTER never sends an alert withheld from the start, RAW always sends the AD1 first', () => {
    fc.assert(
      fc.property(path, (steps) => {
        const filter = send(steps, 'FILTER');
        const everSent = steps.some((o) => o === 'DELIVERED' || o === 'RELEASED');
        if (steps.at(-1) === 'SUPPRESSED' && !everSent) expect(filter).toEqual([]);
        expect(send(steps, 'RAW')[0]).toBe('AD1');
      }),
    );
  });

  test('under FILTER the DNO ends holding the alert exactly when its last decision is genuine', () => {
    fc.assert(
      // A FILTER operator's OTA-induced alerts are SUPPRESSED (PAIRED is the PAIR preference's).
      fc.property(
        path.filter((steps) => !steps.includes('PAIRED')),
        (steps) => {
          let holds = false;
          for (const kind of send(steps, 'FILTER')) {
            if (kind === 'AD1' || kind === 'RELEASED_AD1') holds = true;
            if (kind === 'WITHDRAWN') holds = false;
          }
          const final = steps.at(-1)!;
          expect(holds).toBe(final === 'DELIVERED' || final === 'RELEASED');
        },
      ),
    );
  });

  test('every change of verdict after the DNO had the alert is a message, whatever the preference', () => {
    fc.assert(
      fc.property(path, preference, (steps, pref) => {
        let previous: DecisionOutcome | null = null;
        for (const next of steps) {
          const flips =
            (previous === 'DELIVERED' || previous === 'RELEASED') &&
            (next === 'SUPPRESSED' || next === 'PAIRED');
          const sent = messagesFor({ alertKind: 'AD1', previous, next, preference: pref });
          if (flips && pref !== 'RAW') expect(sent.length).toBeGreaterThan(0);
          previous = next;
        }
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
