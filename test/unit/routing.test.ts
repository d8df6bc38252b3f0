import { mpanCheckDigit } from '../../src/domain/identifiers';
import { routeAlert, routeByMpan } from '../../src/domain/routing';

const KNOWN = new Set(['10', '12', '14']);
const valid = (first12: string) => `${first12}${mpanCheckDigit(first12)}`;
const badDigit = (first12: string) => `${first12}${(mpanCheckDigit(first12) + 1) % 10}`;

const M12 = valid('120000000001');
const M14 = valid('140000000002');
const M12_BAD = badDigit('120000000001');
const M99 = valid('990000000003');
const M99_BAD = badDigit('990000000003');
const link = (mpan: string | null) => ({ mpan, via: 'COMMS_HUB_LINK' as const });

describe('routing an alert to its network operator', () => {
  it('a valid MPAN of a known operator routes by itself, whatever the inventory says', () => {
    expect(routeAlert(M12, link(M14), KNOWN)).toEqual({
      mpanValid: true,
      distributorId: '12',
      routedBy: 'MPAN',
      unroutedReason: null,
    });
  });

  it('a bad check digit is routed by the ESME powering the hub, and stays flagged', () => {
    expect(routeAlert(M12_BAD, link(M14), KNOWN)).toEqual({
      mpanValid: false,
      distributorId: '14',
      routedBy: 'COMMS_HUB_LINK',
      unroutedReason: null,
    });
  });

  it('a bad check digit with no usable link is routed by its prefix when that is a known operator', () => {
    expect(routeAlert(M12_BAD, link(null), KNOWN)).toMatchObject({
      distributorId: '12',
      routedBy: 'MPAN_PREFIX',
    });
    // The linked ESME's MPAN must itself route: a bad one there does not.
    expect(routeAlert(M12_BAD, link(badDigit('140000000002')), KNOWN)).toMatchObject({
      distributorId: '12',
      routedBy: 'MPAN_PREFIX',
    });
  });

  it('an unknown distributor is routed by the link, never by its prefix', () => {
    expect(routeAlert(M99, link(M12), KNOWN)).toMatchObject({
      mpanValid: true,
      distributorId: '12',
      routedBy: 'COMMS_HUB_LINK',
    });
    expect(routeAlert(M99, link(null), KNOWN)).toEqual({
      mpanValid: true,
      distributorId: null,
      routedBy: null,
      unroutedReason: 'UNKNOWN_DISTRIBUTOR',
    });
    expect(routeAlert(M99_BAD, link(null), KNOWN)).toMatchObject({
      distributorId: null,
      unroutedReason: 'BAD_CHECK_DIGIT',
    });
  });

  it('no MPAN or a malformed one is routed by the link, else unrouted with the reason', () => {
    expect(routeAlert(null, link(M12), KNOWN)).toMatchObject({
      distributorId: '12',
      routedBy: 'COMMS_HUB_LINK',
    });
    expect(routeAlert('ABC', link(M12), KNOWN)).toMatchObject({
      distributorId: '12',
      routedBy: 'COMMS_HUB_LINK',
    });
    expect(routeAlert(null, link(null), KNOWN)).toMatchObject({
      distributorId: null,
      unroutedReason: 'NO_MPAN',
    });
    expect(routeAlert('ABC', link(null), KNOWN)).toMatchObject({
      distributorId: null,
      unroutedReason: 'MALFORMED_MPAN',
    });
  });

  it('a restore falls back on its own ESME’s inventory MPAN, and says so', () => {
    expect(routeAlert(M12_BAD, { mpan: M14, via: 'ESME_INVENTORY' }, KNOWN)).toMatchObject({
      distributorId: '14',
      routedBy: 'ESME_INVENTORY',
    });
  });

  it('what the alert’s own MPAN says, on its own', () => {
    expect(routeByMpan(M12, KNOWN)).toEqual({ mpanValid: true, distributorId: '12', problem: null });
    expect(routeByMpan(M12_BAD, KNOWN)).toEqual({
      mpanValid: false,
      distributorId: null,
      problem: 'BAD_CHECK_DIGIT',
    });
    expect(routeByMpan('', KNOWN)).toEqual({ mpanValid: false, distributorId: null, problem: 'NO_MPAN' });
  });
});
