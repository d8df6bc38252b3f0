import type { EntityManager } from 'typeorm';
import type { Clock } from '../../clock';
import { messagesFor } from '../../domain/delivery';
import type { DnoMessageKind } from '../../domain/delivery';
import type { AlertDecision, SupplyRestoredDecision } from '../../domain/engine';
import type { DeliveryPreference } from '../../domain/model';
import type { AlertEntity } from '../../entities';
import { preparedQuery } from '../../db/prepared';
import { returnedRows } from '../../db/rows';
import { budgetRecordParams, budgetRecordSql, recordSafetyBudget } from '../evidence/safety-budget';
import type { DecisionChange } from '../shared/decision-change';
import { traceDecisions } from '../shared/decision-traces';
import { SpanKind, failed, startSpan, traceParentOf } from '../../tracing';
import type { Context } from '../../tracing';
import type { DnoMessagePayload, Enqueued } from './messages';

/**
 * Writes the messages of a decision transaction to the DNOs' outboxes, numbered under each DNO's
 * sequence row lock as the transaction's last statement, so sequences commit in order.
 */
export class OutboxWriter {
  constructor(private readonly clock: Clock) {}

  /**
   * Ends a decision transaction: adds its changes to the safety-budget counters and writes the
   * messages they produce, in one statement. Call once per transaction, last, with every change
   * it made. The DNOs' sequence rows are locked until commit, in one sorted statement, so
   * concurrent transactions cannot deadlock on them; the budget rows are this connection's own
   * (budgetRecordSql) and lock nobody out.
   */
  async enqueue(tx: EntityManager, changes: readonly DecisionChange[]): Promise<Enqueued> {
    const traced = traceDecisions(changes);
    const routed = changes.filter((c) => c.alert.distributorId !== null);
    if (routed.length === 0) {
      await recordSafetyBudget(tx, changes);
      return { sequences: new Map(), changes };
    }
    // A decision made on facts already carries the DNO's preference it was made under; only the
    // others (restores) need it read.
    const unknown = [
      ...new Set(routed.filter((c) => !c.preference).map((c) => c.alert.distributorId!)),
    ].sort();
    const preferences = unknown.length ? await this.preferences(tx, unknown) : new Map();
    const { messages, counts } = messagesOf(routed, preferences, traced);
    if (messages.length === 0) {
      await recordSafetyBudget(tx, changes);
      return { sequences: new Map(), changes };
    }
    let rows: { distributor_id: string; last: string }[];
    try {
      rows = await this.write(tx, messages, counts, changes);
    } catch (error) {
      for (const m of messages) if (m.span) failed(m.span, error);
      throw error;
    } finally {
      for (const m of messages) m.span?.end();
    }
    return { sequences: new Map(rows.map((r) => [r.distributor_id, r.last])), changes };
  }

  /**
   * The one statement: budget counts, the DNOs' new sequences, the messages. One round trip while
   * the locks are held: the DNOs' sequence rows are taken in distributor order (ORDER BY feeds ON
   * CONFLICT in that order) and each message is numbered from its DNO's new last sequence. Before,
   * this took three statements per DNO, and every other transaction of those DNOs waited on the
   * lock through all of them. Each message's span (tracing on) is told the sequence it got.
   */
  private async write(
    tx: EntityManager,
    messages: readonly OutboxMessage[],
    counts: ReadonlyMap<string, number>,
    changes: readonly DecisionChange[],
  ): Promise<{ distributor_id: string; last: string }[]> {
    const distributors = [...counts.keys()].sort();
    const rows = returnedRows<{ distributor_id: string; last: string }>(
      await preparedQuery(
        tx,
        'poa_sieve_outbox_enqueue',
        `WITH budget AS (
           ${budgetRecordSql(11)}
         ), counts AS (
           SELECT d, n FROM unnest($1::text[], $2::bigint[]) AS c(d, n)
         ), taken AS (
           INSERT INTO dno_sequence AS s (distributor_id, last_sequence)
           SELECT d, n FROM counts ORDER BY d
           ON CONFLICT (distributor_id) DO UPDATE SET last_sequence = s.last_sequence + EXCLUDED.last_sequence
           RETURNING s.distributor_id, s.last_sequence
         ), written AS (
           INSERT INTO dno_outbox (distributor_id, sequence, kind, alert_id, alert_event_at, decision_revision, payload, created_at)
           SELECT m.d, t.last_sequence - c.n + m.i, m.k, m.a, m.e, m.r, $8::jsonb -> (m.o - 1)::int, $10
             FROM unnest($3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::int[], $9::timestamptz[])
                    WITH ORDINALITY AS m(d, i, k, a, r, e, o)
             JOIN taken t ON t.distributor_id = m.d
             JOIN counts c ON c.d = m.d
         )
         SELECT distributor_id, last_sequence::text AS last FROM taken`,
        [
          distributors,
          distributors.map((d) => counts.get(d)!),
          messages.map((m) => m.distributorId),
          messages.map((m) => m.ordinal),
          messages.map((m) => m.kind),
          messages.map((m) => m.alertId),
          messages.map((m) => m.revision),
          // One JSON array, not a jsonb[] (see appendDecisions in alerts/decision-ledger.ts).
          `[${messages.map((m) => m.payload).join(',')}]`,
          messages.map((m) => m.alertEventAt),
          this.clock.now(),
          ...budgetRecordParams(changes),
        ],
      ),
    );
    const last = new Map(rows.map((r) => [r.distributor_id, BigInt(r.last)]));
    for (const m of messages) {
      const sequence = last.get(m.distributorId)! - BigInt(counts.get(m.distributorId)!) + BigInt(m.ordinal);
      m.span?.setAttribute('poa.dno.sequence', sequence.toString());
    }
    return rows;
  }

  private async preferences(
    tx: EntityManager,
    distributorIds: readonly string[],
  ): Promise<Map<string, DeliveryPreference>> {
    const rows = (await tx.query(
      'SELECT distributor_id, preference FROM delivery_preference WHERE distributor_id = ANY($1)',
      [[...distributorIds]],
    )) as { distributor_id: string; preference: DeliveryPreference }[];
    return new Map(rows.map((r) => [r.distributor_id, r.preference]));
  }
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

function payloadOf(
  change: DecisionChange,
  kind: DnoMessageKind,
  traceParent: string | null,
): DnoMessagePayload {
  const a: AlertEntity = change.alert;
  const isAd1 = a.kind === 'AD1';
  const ad1 = isAd1 ? (change.decision as AlertDecision) : null;
  const restore = isAd1 ? null : (change.decision as SupplyRestoredDecision);
  const e = ad1?.evidence;
  const otaInduced =
    ad1 && (kind === 'OTA_INDUCED' || change.outcome === 'SUPPRESSED' || change.outcome === 'PAIRED') && e
      ? {
          deviceGuid: e.activation?.deviceGuid ?? null,
          activationId: ad1.activationId,
          activationRequestId: e.activation?.requestId ?? null,
          actualExecutedAt: e.activation?.actualExecutedAt ?? null,
          manufacturer: e.esme?.manufacturer ?? e.commsHub?.manufacturer ?? null,
          model: e.esme?.model ?? e.commsHub?.model ?? null,
          firmwareBefore: e.firmware?.versionBefore ?? null,
          firmwareAfter: e.activation?.targetFirmwareVersion ?? null,
          ruleId: ad1.ruleId,
          ruleVersion: ad1.ruleVersion,
          windowFrom: iso(ad1.window?.from ?? null),
          windowTo: iso(ad1.window?.to ?? null),
        }
      : null;
  return {
    alert: {
      id: a.id,
      kind: a.kind,
      alertCode: a.alertCode,
      deviceGuid: a.deviceGuid,
      mpan: a.mpan,
      mpanCheckDigitValid: a.mpanCheckDigitValid,
      distributorId: a.distributorId,
      unroutedReason: a.unroutedReason,
      areaKey: a.areaKey,
      eventAt: a.eventAt.toISOString(),
      restoredAt: iso(a.restoredAt),
      throttledCount: a.throttledCount,
      duisResponseId: a.duisResponseId,
      receivedAt: a.receivedAt.toISOString(),
      pairedAlertId: restore?.pairedAlertId ?? a.pairedAlertId,
      routedBy: a.routedBy,
    },
    decision: {
      revision: change.revision,
      outcome: change.outcome,
      reasonCode: change.reason,
      late: change.late,
      decidedAt: (ad1?.decidedAt ?? restore!.decidedAt).toISOString(),
    },
    pairedAlertId: kind === 'OTA_INDUCED' ? a.id : (restore?.pairedAlertId ?? null),
    otaInduced,
    ...(traceParent ? { traceParent } : {}),
  };
}

/** A message to write: its DNO, its place among the transaction's messages of that DNO, and its content. */
interface OutboxMessage {
  readonly distributorId: string;
  /** 1, 2, ... within its DNO: the offset from the DNO's first new sequence. */
  readonly ordinal: number;
  readonly kind: DnoMessageKind;
  readonly alertId: string;
  readonly alertEventAt: Date;
  readonly revision: number;
  readonly payload: string;
  /** `poa.dno.publish` (tracing on): its traceparent is in the payload, for the delivery to go on from. */
  readonly span?: ReturnType<typeof startSpan>;
}

/** The messages these changes put on their DNOs' streams, in order, and how many per DNO. */
function messagesOf(
  routed: readonly DecisionChange[],
  preferences: ReadonlyMap<string, DeliveryPreference>,
  traced: ReadonlyMap<DecisionChange, { context: Context }> | null,
): { messages: OutboxMessage[]; counts: Map<string, number> } {
  const messages: OutboxMessage[] = [];
  const counts = new Map<string, number>();
  for (const change of routed) {
    const distributorId = change.alert.distributorId!;
    const kinds = messagesFor({
      alertKind: change.alert.kind,
      previous: change.previousOutcome,
      next: change.outcome,
      preference: change.preference ?? preferences.get(distributorId) ?? 'FILTER',
    });
    for (const kind of kinds) {
      const ordinal = (counts.get(distributorId) ?? 0) + 1;
      counts.set(distributorId, ordinal);
      const decided = traced?.get(change);
      const span =
        decided && startSpan('poa.dno.publish', publishAttributes(change, kind), decided, SpanKind.PRODUCER);
      messages.push({
        distributorId,
        ordinal,
        kind,
        alertId: change.alert.id,
        alertEventAt: change.alert.eventAt,
        revision: change.revision,
        payload: JSON.stringify(payloadOf(change, kind, span ? traceParentOf(span.spanContext()) : null)),
        span,
      });
    }
  }
  return { messages, counts };
}

/** What a message's span says before it has its sequence: its DNO, kind, alert and decision. */
function publishAttributes(change: DecisionChange, kind: DnoMessageKind) {
  return {
    'poa.dno.distributor_id': change.alert.distributorId!,
    'poa.dno.message_kind': kind,
    'poa.alert.id': change.alert.id,
    'poa.decision.revision': change.revision,
  };
}
