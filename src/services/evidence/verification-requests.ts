import type { EntityManager } from 'typeorm';
import type { AlertDecision, EngineSettings } from '../../domain/engine';
import type { AlertEntity } from '../../entities';
import { returnedRows } from '../../db/rows';
import { failed, parentFor, startSpan, traceParentOf, tracingOn } from '../../tracing';

const MINUTE_MS = 60_000;

/** How the service asks meters: who it says it is, and how many requests the network may take. */
export interface VerificationRequestSettings {
  /** EUI-64 of the DSP user that sends the SR 11.2 requests (first part of each request ID). */
  readonly senderId: string;
  /** At most `perDno` / `perArea` requests within `windowMinutes`; beyond that, fail open. */
  readonly budget: { readonly windowMinutes: number; readonly perDno: number; readonly perArea: number };
}

export type VerificationRequestStatus = 'PENDING' | 'ANSWERED' | 'TIMED_OUT' | 'SKIPPED';

/** One verification request as stored (and as the DSP adapter receives it). */
export interface VerificationRequestRow {
  readonly id: string;
  /** Position in the verification stream; `null` for a request the budget refused. */
  readonly sequence: string | null;
  /** DUIS request ID `sender:device:counter`. */
  readonly requestId: string;
  readonly serviceRequest: '11.2';
  readonly deviceGuid: string;
  readonly alertId: string;
  readonly distributorId: string | null;
  readonly areaKey: string | null;
  readonly attempt: number;
  readonly status: VerificationRequestStatus;
  readonly requestedAt: Date;
  readonly timeoutAt: Date;
  readonly answeredAt: Date | null;
  readonly answerReceivedAt: Date | null;
  readonly firmwareVersion: string | null;
}

export interface VerificationAnswerInput {
  readonly requestId: string;
  /** When the meter answered (the DUIS response's time). */
  readonly answeredAt: Date;
  /** The firmware version the meter reported (SR 11.2); optional for an answer without one. */
  readonly firmwareVersion?: string | null;
}

export const VERIFICATION_COLUMNS = `id::text AS id, sequence::text AS sequence, request_id AS "requestId",
  service_request AS "serviceRequest", device_guid AS "deviceGuid", alert_id::text AS "alertId",
  distributor_id AS "distributorId", area_key AS "areaKey", attempt, status, requested_at AS "requestedAt",
  timeout_at AS "timeoutAt", answered_at AS "answeredAt", answer_received_at AS "answerReceivedAt",
  firmware_version AS "firmwareVersion"`;

/**
 * The sending side of active verification (docs/ENGINE.md, "Timeline"): when a held candidate has
 * no activation outcome although its hub should be back, the engine asks for a read of the meter,
 * and the decision service hands those decisions here, inside its transaction. They become
 * durable requests in the verification outbox: one PENDING per device, within a request budget
 * per DNO and per area.
 */
export class VerificationOutbox {
  constructor(
    private readonly engine: EngineSettings,
    private readonly settings: VerificationRequestSettings,
  ) {}

  /**
   * Sends the requests that decisions of this transaction ask for (reason AWAITING_VERIFICATION),
   * inside it: a device with a request still pending is not asked again; one over the budget gets
   * a SKIPPED row instead. Returns the alerts (of `decided`) whose device was refused: the caller
   * decides them again in the same transaction, and the engine, seeing the SKIPPED request,
   * releases them (VERIFICATION_BUDGET_SPENT). Setting their timer to `now` instead left it to
   * whoever ran next, and the scheduler's own transaction cleared such a timer as stuck: the AD1
   * stayed HELD with no timer at all.
   * Takes the verification sequence lock, held until commit, so the stream commits in order.
   */
  async requestFor(
    tx: EntityManager,
    decided: readonly { alert: AlertEntity; decision: AlertDecision }[],
    now: Date,
  ): Promise<string[]> {
    const wanted = await this.devicesToAsk(tx, decided, now);
    if (wanted.length === 0) return [];
    const since = new Date(now.getTime() - this.settings.budget.windowMinutes * MINUTE_MS);
    const used = await this.budgetUsed(tx, wanted, since);
    const rows = wanted.map(({ alert, device }) => {
      const dno = alert.distributorId ? `DNO:${alert.distributorId}` : null;
      const area = alert.areaKey ? `AREA:${alert.areaKey}` : null;
      const allowed =
        (dno === null || (used.get(dno) ?? 0) < this.settings.budget.perDno) &&
        (area === null || (used.get(area) ?? 0) < this.settings.budget.perArea);
      if (allowed) {
        if (dno) used.set(dno, (used.get(dno) ?? 0) + 1);
        if (area) used.set(area, (used.get(area) ?? 0) + 1);
      }
      return { alert, device, allowed };
    });
    await this.insertRequests(tx, rows, now);
    // Every alert that asked about a refused device: the one the request names and the others.
    const refused = new Set(rows.filter((r) => !r.allowed).map((r) => r.device));
    return decided
      .filter(({ decision }) => {
        const device = decision.evidence.timeline?.verification.deviceGuid;
        return decision.reason === 'AWAITING_VERIFICATION' && device !== undefined && refused.has(device);
      })
      .map(({ alert }) => alert.id);
  }

  /**
   * The devices these decisions ask to read (one alert each, in device order), less those with a
   * request still pending; a request past its timeout is closed first, so the device can be
   * asked again.
   */
  private async devicesToAsk(
    tx: EntityManager,
    decided: readonly { alert: AlertEntity; decision: AlertDecision }[],
    now: Date,
  ): Promise<{ alert: AlertEntity; device: string }[]> {
    const byDevice = new Map<string, { alert: AlertEntity; device: string }>();
    for (const { alert, decision } of decided) {
      const device = decision.evidence.timeline?.verification.deviceGuid;
      if (decision.reason !== 'AWAITING_VERIFICATION' || !device) continue;
      if (!byDevice.has(device)) byDevice.set(device, { alert, device });
    }
    if (byDevice.size === 0) return [];
    const devices = [...byDevice.keys()].sort();
    await tx.query(
      `UPDATE verification_request SET status = 'TIMED_OUT'
        WHERE device_guid = ANY($1::bpchar[]) AND status = 'PENDING' AND timeout_at <= $2`,
      [devices, now],
    );
    const pending = new Set(
      (
        (await tx.query(
          `SELECT device_guid AS device FROM verification_request WHERE device_guid = ANY($1::bpchar[]) AND status = 'PENDING'`,
          [devices],
        )) as { device: string }[]
      ).map((r) => r.device),
    );
    return devices.filter((d) => !pending.has(d)).map((d) => byDevice.get(d)!);
  }

  /**
   * Writes the requests: those within the budget PENDING, numbered in the verification stream
   * under its sequence row (held to commit, so the stream commits in order); the others SKIPPED.
   */
  private async insertRequests(
    tx: EntityManager,
    rows: readonly { alert: AlertEntity; device: string; allowed: boolean }[],
    now: Date,
  ): Promise<void> {
    const sent = rows.filter((r) => r.allowed).length;
    let next = 0;
    if (sent > 0) {
      const [{ last }] = returnedRows<{ last: string }>(
        await tx.query(
          `UPDATE verification_sequence SET last_sequence = last_sequence + $1 WHERE id = 1
           RETURNING last_sequence::text AS last`,
          [sent],
        ),
      );
      next = Number(BigInt(last) - BigInt(sent)) + 1;
    }
    const timeoutAt = new Date(now.getTime() + this.engine.verification.timeoutMinutes * MINUTE_MS);
    // One span per request, in its alert's trace; the request keeps the span's traceparent, so
    // the meter's answer, however late, is traced under it.
    const spans = rows.map(({ alert, device }) =>
      tracingOn()
        ? startSpan(
            'poa.verification.request',
            {
              'poa.alert.id': alert.id,
              'poa.device.guid': device,
              'poa.verification.service_request': '11.2',
            },
            parentFor(alert.traceParent),
          )
        : undefined,
    );
    try {
      const written = returnedRows<{
        device: string;
        requestId: string;
        status: string;
        sequence: string | null;
      }>(
        await this.insert(
          tx,
          rows,
          next,
          now,
          timeoutAt,
          spans.map((s) => (s ? traceParentOf(s.spanContext()) : null)),
        ),
      );
      const byDevice = new Map(written.map((w) => [w.device, w]));
      spans.forEach((span, i) => {
        const row = byDevice.get(rows[i].device);
        if (!span || !row) return;
        span.setAttributes({
          'poa.verification.request_id': row.requestId,
          'poa.verification.status': row.status,
        });
        if (row.sequence) span.setAttribute('poa.verification.sequence', row.sequence);
      });
    } catch (error) {
      for (const span of spans) if (span) failed(span, error);
      throw error;
    } finally {
      for (const span of spans) span?.end();
    }
  }

  /** The INSERT of insertRequests; returns the rows written (device, request ID, status, sequence). */
  private insert(
    tx: EntityManager,
    rows: readonly { alert: AlertEntity; device: string; allowed: boolean }[],
    first: number,
    now: Date,
    timeoutAt: Date,
    traceParents: readonly (string | null)[],
  ): Promise<unknown> {
    let next = first;
    return tx.query(
      `INSERT INTO verification_request (id, sequence, request_id, service_request, device_guid, alert_id,
                                         distributor_id, area_key, attempt, status, requested_at, timeout_at,
                                         trace_parent)
       SELECT v.id, v.sequence, $9 || ':' || v.device || ':' || v.id, '11.2', v.device, v.alert_id,
              v.distributor_id, v.area_key,
              1 + (SELECT count(*) FROM verification_request r
                    WHERE r.device_guid = v.device AND r.requested_at >= v.start_at AND r.status <> 'SKIPPED'),
              CASE WHEN v.sequence IS NULL THEN 'SKIPPED' ELSE 'PENDING' END, $7, $8, v.trace_parent
         -- nextval in the select list runs once per row; an uncorrelated lateral subquery ran once
         -- per statement and gave every row of a batch the same id.
         FROM (SELECT u.*, nextval(pg_get_serial_sequence('verification_request', 'id')) AS id
                 FROM unnest($1::bpchar[], $2::bigint[], $3::bigint[], $4::bpchar[], $5::text[], $6::timestamptz[],
                             $10::text[])
                      AS u(device, sequence, alert_id, distributor_id, area_key, start_at, trace_parent)) v
       RETURNING device_guid AS device, request_id AS "requestId", status, sequence::text AS sequence`,
      [
        rows.map((r) => r.device),
        rows.map((r) => (r.allowed ? String(next++) : null)),
        rows.map((r) => r.alert.id),
        rows.map((r) => r.alert.distributorId),
        rows.map((r) => r.alert.areaKey),
        rows.map((r) => r.alert.eventAt),
        now,
        timeoutAt,
        this.settings.senderId,
        traceParents,
      ],
    );
  }

  private async budgetUsed(
    tx: EntityManager,
    wanted: readonly { alert: AlertEntity }[],
    since: Date,
  ): Promise<Map<string, number>> {
    const dnos = [...new Set(wanted.map((w) => w.alert.distributorId).filter((d): d is string => !!d))];
    const areas = [...new Set(wanted.map((w) => w.alert.areaKey).filter((a): a is string => !!a))];
    const rows = (await tx.query(
      `SELECT 'DNO:' || distributor_id AS key, count(*)::int AS n FROM verification_request
        WHERE distributor_id = ANY($1::bpchar[]) AND requested_at > $3 AND status <> 'SKIPPED' GROUP BY distributor_id
       UNION ALL
       SELECT 'AREA:' || area_key, count(*)::int FROM verification_request
        WHERE area_key = ANY($2::text[]) AND requested_at > $3 AND status <> 'SKIPPED' GROUP BY area_key`,
      [dnos, areas, since],
    )) as { key: string; n: number }[];
    return new Map(rows.map((r) => [r.key, r.n]));
  }
}
