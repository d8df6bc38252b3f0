import type { AlertDecision, SupplyRestoredDecision } from '../../../src/domain/engine';
import { decideSupplyRestoredAlert, pairSupplyRestoredAlert } from '../../../src/domain/engine';
import {
  CH_OTHER,
  DUE,
  ESME_OTHER,
  alert,
  association,
  at,
  commsHub,
  decide,
  device,
  facts,
  restore,
  sequence,
  settings,
} from './fixtures';

describe('pairing a supply-restored alert with its AD1', () => {
  const associations = [association(), association({ commsHubGuid: CH_OTHER, esmeGuid: ESME_OTHER })];

  it('pairs with the AD1 of the CH its ESME powered, overlapping the interruption', () => {
    const ad1 = alert();
    expect(pairSupplyRestoredAlert(restore(), [ad1], associations, settings)).toBe(ad1);
  });

  it.each([
    ['an AD1 from a CH powered by another ESME', alert({ commsHubGuid: CH_OTHER })],
    ['an AD1 that started before the interruption (beyond skew)', alert({ startAt: at(3, -1) })],
    ['an AD1 that started after the restoration (beyond skew)', alert({ startAt: at(67, 1) })],
  ])('does not pair with %s', (_name, ad1) => {
    expect(pairSupplyRestoredAlert(restore(), [ad1], associations, settings)).toBeNull();
  });

  it('uses the association valid at the AD1 start (CH swapped later)', () => {
    const swapped = [
      association({ effectiveTo: at(10) }),
      association({ esmeGuid: ESME_OTHER, effectiveFrom: at(10) }),
    ];
    expect(pairSupplyRestoredAlert(restore(), [alert()], swapped, settings)?.id).toBe('ad1-1');
    expect(
      pairSupplyRestoredAlert(
        restore({ interruptionAt: at(11) }),
        [alert({ startAt: at(11) })],
        swapped,
        settings,
      ),
    ).toBeNull();
  });

  it('among several, the one starting nearest the interruption, then the earlier, then by id', () => {
    const near = alert({ id: 'b', startAt: at(6) });
    const far = alert({ id: 'a', startAt: at(20) });
    const twin = alert({ id: 'a2', startAt: at(6) });
    expect(
      pairSupplyRestoredAlert(
        restore({ interruptionAt: at(5) }),
        [far, twin, near],
        [association()],
        settings,
      )?.id,
    ).toBe('a2');
  });

  it('no AD1 at all (lost): no pair', () => {
    expect(pairSupplyRestoredAlert(restore(), [], associations, settings)).toBeNull();
  });
});

describe('deciding a supply-restored alert like its AD1', () => {
  const ad1 = alert();
  const held = decide(facts(), at(8));
  const suppressed = decide(facts(), DUE);
  const paired = decide(facts({ deliveryPreference: 'PAIR' }), DUE);
  const delivered = decide(facts({ activations: [] }), at(8));
  const released = decide(
    { ...facts({ supplyRestoredAlerts: [restore()] }), previousDecision: suppressed },
    at(70),
  );

  it.each([
    ['delivered', delivered, 'DELIVERED'],
    ['held (decided when its AD1 is)', held, 'HELD'],
    ['suppressed', suppressed, 'SUPPRESSED'],
    ['paired', paired, 'PAIRED'],
    ['released', released, 'RELEASED'],
  ] as const)('an AD1 %s', (_name, decision: AlertDecision, outcome) => {
    const d = decideSupplyRestoredAlert(restore(), { alert: ad1, decision }, null, at(66));
    expect([d.outcome, d.reason, d.pairedAlertId]).toEqual([outcome, 'FOLLOWS_OUTAGE_ALERT', 'ad1-1']);
    expect(d.dueAt).toEqual(outcome === 'HELD' ? held.dueAt : null);
  });

  it('no AD1 (lost): delivered on its own', () => {
    const d = decideSupplyRestoredAlert(restore(), null, null, at(66));
    expect([d.outcome, d.reason, d.pairedAlertId]).toEqual(['DELIVERED', 'NO_PAIRED_OUTAGE_ALERT', null]);
  });

  it('an AD1 not decided yet: delivered (never withheld on missing data)', () => {
    const d = decideSupplyRestoredAlert(restore(), { alert: ad1, decision: null }, null, at(66));
    expect([d.outcome, d.reason]).toEqual(['DELIVERED', 'OUTAGE_ALERT_UNDECIDED']);
  });

  it('suppressed with its AD1, then released late with it', () => {
    const first = decideSupplyRestoredAlert(restore(), { alert: ad1, decision: suppressed }, null, at(66));
    const later = decideSupplyRestoredAlert(restore(), { alert: ad1, decision: released }, first, at(70));
    expect([later.outcome, later.late]).toEqual(['RELEASED', true]);
  });

  it('once sent, stays sent; unchanged re-evaluation returns the same object', () => {
    const sent: SupplyRestoredDecision = decideSupplyRestoredAlert(restore(), null, null, at(66));
    expect(decideSupplyRestoredAlert(restore(), { alert: ad1, decision: suppressed }, sent, at(70))).toBe(
      sent,
    );
    const withheld = decideSupplyRestoredAlert(restore(), { alert: ad1, decision: suppressed }, null, at(66));
    expect(decideSupplyRestoredAlert(restore(), { alert: ad1, decision: suppressed }, withheld, at(67))).toBe(
      withheld,
    );
  });

  it('end to end: a restore that pairs with a suppressed AD1 releases it, and both reach the DNO', () => {
    // The service's order: store the restore, re-decide the AD1 with it, then decide the restore.
    const r = restore({ receivedAt: at(66) });
    const [, ad1Suppressed, ad1Released] = sequence([
      { facts: facts(), now: at(8) },
      { facts: facts(), now: DUE },
      { facts: facts({ supplyRestoredAlerts: [r] }), now: at(66) },
    ]);
    expect(ad1Suppressed.outcome).toBe('SUPPRESSED');
    const pairedWith = pairSupplyRestoredAlert(r, [ad1], [association()], settings);
    const d = decideSupplyRestoredAlert(
      r,
      pairedWith && { alert: pairedWith, decision: ad1Released },
      null,
      at(66),
    );
    expect([ad1Released.outcome, ad1Released.late, d.outcome, d.pairedAlertId]).toEqual([
      'RELEASED',
      true,
      'RELEASED',
      'ad1-1',
    ]);
  });

  it('a restore whose AD1 was lost still does not disturb other AD1s of the ESME', () => {
    const unrelated = restore({ interruptionAt: at(-120), restorationAt: at(-100) });
    const [, final] = sequence([
      { facts: facts({ devices: [commsHub(), device()] }), now: at(8) },
      { facts: facts({ supplyRestoredAlerts: [unrelated] }), now: DUE },
    ]);
    expect(final.outcome).toBe('SUPPRESSED');
    expect(pairSupplyRestoredAlert(unrelated, [ad1], [association()], settings)).toBeNull();
  });
});
