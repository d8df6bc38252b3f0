import type { DataSource } from 'typeorm';
import type { Principal } from '../../auth/principal';
import type { Clock } from '../../clock';
import { deviceTimeAllowanceMinutes } from '../../domain/engine';
import type { EngineSettings } from '../../domain/engine';
import { ConflictError, InvalidInputError, NotFoundError } from '../../domain/errors';
import { parseFirmwareVersion } from '../../domain/identifiers';
import { returnedRows } from '../../db/rows';
import { requireRole } from '../shared/access';
import { inSpan, parentFor } from '../../tracing';
import type { DecisionService } from '../alerts/decision.service';
import type { DeliveryService } from '../delivery/delivery.service';

import { VERIFICATION_COLUMNS } from '../evidence/verification-requests';

const MINUTE_MS = 60_000;
import type {
  VerificationAnswerInput,
  VerificationRequestRow,
  VerificationRequestStatus,
} from '../evidence/verification-requests';

/**
 * The DSP adapter's side of active verification: the stream of requests in sequence order, and
 * the answers, which re-decide the alerts that waited on them.
 */
export class VerificationService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly engine: EngineSettings,
    private readonly decisions: DecisionService,
    private readonly delivery: DeliveryService,
  ) {}

  /**
   * The stream after `after` (a sequence), in order: what the DSP adapter sends next; only the
   * requests that stand at `status` now, when one is given.
   */
  async readAfter(
    after: string,
    limit: number,
    status: VerificationRequestStatus | null = null,
  ): Promise<VerificationRequestRow[]> {
    return (await this.dataSource.query(
      // Order by the column, not the text alias: a bare `ORDER BY sequence` sorts '10' before '9'.
      `SELECT ${VERIFICATION_COLUMNS} FROM verification_request WHERE sequence > $1::bigint
          AND ($3::text IS NULL OR verification_request.status = $3)
        ORDER BY verification_request.sequence LIMIT $2`,
      [after, limit, status],
    )) as VerificationRequestRow[];
  }

  /** The newest sequence handed out (0 when none). */
  async head(): Promise<string> {
    const [row] = (await this.dataSource.query(
      `SELECT last_sequence::text AS last FROM verification_sequence WHERE id = 1`,
    )) as { last: string }[];
    return row?.last ?? '0';
  }

  /** Requests by ID (loaders, explain). */
  async byRequestIds(requestIds: readonly string[]): Promise<VerificationRequestRow[]> {
    return (await this.dataSource.query(
      `SELECT ${VERIFICATION_COLUMNS} FROM verification_request WHERE request_id = ANY($1::text[])`,
      [[...requestIds]],
    )) as VerificationRequestRow[];
  }

  /**
   * Records the meter's answer to a request (idempotent: the same answer again changes nothing)
   * and re-decides the withheld AD1s of that device in the same transaction.
   */
  async recordAnswer(principal: Principal, input: VerificationAnswerInput): Promise<VerificationRequestRow> {
    const user = requireRole(principal, 'OPERATOR');
    const now = this.clock.now();
    if (typeof input.requestId !== 'string' || input.requestId.length === 0 || input.requestId.length > 200) {
      throw new InvalidInputError('INVALID_REQUEST_ID', 'requestId must be 1-200 characters', 'requestId');
    }
    if (!(input.answeredAt instanceof Date) || Number.isNaN(input.answeredAt.getTime())) {
      throw new InvalidInputError('INVALID_DATE_TIME', 'answeredAt must be a date-time', 'answeredAt');
    }
    const version =
      input.firmwareVersion === undefined || input.firmwareVersion === null
        ? null
        : parseFirmwareVersion(input.firmwareVersion, 'firmwareVersion');
    const skewMs = deviceTimeAllowanceMinutes(this.engine) * MINUTE_MS;
    const { row, enqueued } = await this.dataSource.transaction(async (tx) => {
      const [current] = (await tx.query(
        `SELECT ${VERIFICATION_COLUMNS}, trace_parent AS "traceParent" FROM verification_request
          WHERE request_id = $1 FOR UPDATE`,
        [input.requestId],
      )) as (VerificationRequestRow & { traceParent: string | null })[];
      if (!current) throw new NotFoundError('VerificationRequest', input.requestId);
      if (current.status === 'SKIPPED') {
        throw new ConflictError('NOT_SENT', 'this verification request was never sent (request budget)');
      }
      if (current.status === 'ANSWERED') {
        const same =
          current.answeredAt?.getTime() === input.answeredAt.getTime() && current.firmwareVersion === version;
        if (same) return { row: current, enqueued: null };
        throw new ConflictError('ALREADY_ANSWERED', 'this verification request already has another answer', {
          answeredAt: current.answeredAt?.toISOString(),
        });
      }
      const t = input.answeredAt.getTime();
      if (t < current.requestedAt.getTime() - skewMs || t > now.getTime() + skewMs) {
        throw new InvalidInputError(
          'INVALID_ANSWER_TIME',
          'answeredAt must lie between the request time and now (give or take the device clock allowance)',
          'answeredAt',
        );
      }
      // Traced under the request it answers (so in its AD1's trace), linked to this call.
      const span = () => ({
        attributes: {
          'poa.verification.request_id': current.requestId,
          'poa.device.guid': current.deviceGuid,
          'poa.alert.id': current.alertId,
          ...(version ? { 'poa.verification.firmware_version': version } : {}),
        },
        parent: parentFor(current.traceParent),
      });
      return inSpan('poa.verification.answer', span, async () => {
        const [row] = returnedRows<VerificationRequestRow>(
          await tx.query(
            `UPDATE verification_request SET status = 'ANSWERED', answered_at = $2, answer_received_at = $3,
                    firmware_version = $4, answered_by = $5
              WHERE id = $1 RETURNING ${VERIFICATION_COLUMNS}`,
            [current.id, input.answeredAt, now, version, user.subject],
          ),
        );
        const ids = await this.decisions.alertsOpenNear(
          tx,
          [{ device: current.deviceGuid, at: current.requestedAt }],
          now,
        );
        const changes = await this.decisions.evaluateOutageAlerts(tx, ids, now, 'EVIDENCE');
        return { row, enqueued: await this.delivery.enqueue(tx, changes) };
      });
    });
    if (enqueued) this.delivery.published(enqueued);
    return row;
  }
}
