import type { DecisionOutcome, DeliveryPreference } from './model';

/**
 * Kinds of message a DNO receives on its stream. WITHDRAWN and RECLASSIFIED are corrections: late
 * evidence showed an AD1 the DNO already has to be OTA-induced (FILTER: withdraw it; ANNOTATE:
 * its classification changed). RELEASED_AD1 is the other way round.
 */
export const DNO_MESSAGE_KINDS = [
  'AD1',
  'OTA_INDUCED',
  'RELEASED_AD1',
  'SUPPLY_RESTORED',
  'WITHDRAWN',
  'RECLASSIFIED',
] as const;
export type DnoMessageKind = (typeof DNO_MESSAGE_KINDS)[number];

/**
 * Whether the DNO has already been sent the alert itself when its decision is `outcome` under
 * `preference`:
 *   FILTER    sends genuine and undecidable AD1s (DELIVERED, RELEASED) only;
 *   PAIR      also sends OTA-induced ones, each with an OTA_INDUCED companion;
 *   ANNOTATE  sends every decided AD1, carrying its classification;
 *   RAW       sends everything at once, held ones included.
 */
export function alreadySent(outcome: DecisionOutcome | null, preference: DeliveryPreference): boolean {
  switch (outcome) {
    case null:
      return false;
    case 'DELIVERED':
    case 'RELEASED':
    case 'PAIRED':
      return true;
    case 'HELD':
      return preference === 'RAW';
    case 'SUPPRESSED':
      return preference !== 'FILTER';
  }
}

export interface DecisionTransition {
  readonly alertKind: 'AD1' | 'SUPPLY_RESTORED';
  readonly previous: DecisionOutcome | null;
  readonly next: DecisionOutcome;
  readonly preference: DeliveryPreference;
}

/**
 * The messages one decision change puts on the DNO's stream, in order. A DNO never gets an
 * alert twice, gets every genuine one, and learns of a late release whatever it saw before.
 */
export function messagesFor(t: DecisionTransition): DnoMessageKind[] {
  const wasSent = alreadySent(t.previous, t.preference);
  const isSent = alreadySent(t.next, t.preference);
  if (t.alertKind === 'SUPPLY_RESTORED') return !wasSent && isSent ? ['SUPPLY_RESTORED'] : [];

  const messages: DnoMessageKind[] = [];
  const lateRelease = (t.previous === 'SUPPRESSED' || t.previous === 'PAIRED') && t.next === 'RELEASED';
  const delivered = t.previous === 'DELIVERED' || t.previous === 'RELEASED';
  const withheld = t.next === 'SUPPRESSED' || t.next === 'PAIRED';
  if (lateRelease) {
    // Whether the DNO never saw it (FILTER) or saw it marked OTA-induced, it must learn now.
    messages.push('RELEASED_AD1');
  } else if (!wasSent && isSent) {
    messages.push('AD1');
  } else if (delivered && withheld && t.preference !== 'RAW') {
    // Late evidence: an AD1 delivered as genuine turned out OTA-induced. FILTER withdraws it,
    // ANNOTATE re-labels it, PAIR gets its OTA_INDUCED companion (below); RAW stays raw.
    if (t.preference === 'FILTER') messages.push('WITHDRAWN');
    if (t.preference === 'ANNOTATE') messages.push('RECLASSIFIED');
  }
  const otaInduced = t.next === 'PAIRED' || (t.next === 'SUPPRESSED' && t.preference === 'PAIR');
  const wasOtaInduced = t.previous === 'PAIRED' || (t.previous === 'SUPPRESSED' && t.preference === 'PAIR');
  if (otaInduced && !wasOtaInduced) messages.push('OTA_INDUCED');
  return messages;
}
