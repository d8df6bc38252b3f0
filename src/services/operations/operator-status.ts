import type { DataSource } from 'typeorm';
import type { Principal } from '../../auth/principal';
import type { Clock } from '../../clock';
import { SCRAPE_STATEMENT } from '../../db/data-source';
import { InvalidInputError } from '../../domain/errors';
import type { DeliveryService, DeliveryStatus } from '../delivery/delivery.service';
import { requireRole } from '../shared/access';

const MINUTE_MS = 60_000;
/** The window operatorStatus looks back over when none is given. */
export const DEFAULT_STATUS_WINDOW_MINUTES = 60;
/** The longest window: a week, within the partial indexes' reach and far short of retention. */
export const MAX_STATUS_WINDOW_MINUTES = 7 * 24 * 60;

/** AD1s received within the window, by the outcome each has now. */
export interface AlertOutcomeCounts {
  readonly received: number;
  readonly held: number;
  readonly suppressed: number;
  readonly paired: number;
  readonly released: number;
  readonly delivered: number;
}

/** Verification reads of meters (SR 11.2) requested within the window, by status now. */
export interface VerificationCounts {
  readonly pending: number;
  readonly answered: number;
  readonly timedOut: number;
  readonly skipped: number;
}

/** What the operator watches, for one DNO or for all of them. */
export interface OperatingFigures {
  readonly alerts: AlertOutcomeCounts;
  /** AD1s HELD now, whenever they were received. */
  readonly heldNow: number;
  /** Of those, the ones waiting for a meter's answer (AWAITING_VERIFICATION). */
  readonly awaitingVerification: number;
  readonly verifications: VerificationCounts;
}

export interface DnoOperatingStatus extends OperatingFigures {
  readonly distributorId: string;
  /** The DNO's stream and its consumer's position; null when it has none yet. */
  readonly delivery: DeliveryStatus | null;
}

export interface OperatorStatusReport {
  readonly at: Date;
  readonly since: Date;
  readonly windowMinutes: number;
  /** Every AD1 and request, unrouted ones included. */
  readonly total: OperatingFigures;
  readonly distributors: DnoOperatingStatus[];
}

/** AD1s HELD now, by DNO (null: unrouted) and reason. Also read at scrape time. */
export type HeldAlertCounts = {
  readonly distributorId: string | null;
  readonly reason: string;
  readonly count: number;
}[];

type Count<K extends string> = { distributor_id: string | null; n: number } & Record<K, string | null>;

const OUTCOME_FIELD: Record<string, keyof AlertOutcomeCounts> = {
  HELD: 'held',
  SUPPRESSED: 'suppressed',
  PAIRED: 'paired',
  RELEASED: 'released',
  DELIVERED: 'delivered',
};
const STATUS_FIELD: Record<string, keyof VerificationCounts> = {
  PENDING: 'pending',
  ANSWERED: 'answered',
  TIMED_OUT: 'timedOut',
  SKIPPED: 'skipped',
};

function emptyFigures(): { -readonly [K in keyof OperatingFigures]: OperatingFigures[K] } {
  return {
    alerts: { received: 0, held: 0, suppressed: 0, paired: 0, released: 0, delivered: 0 },
    heldNow: 0,
    awaitingVerification: 0,
    verifications: { pending: 0, answered: 0, timedOut: 0, skipped: 0 },
  };
}

/**
 * The operator's status at a glance: per DNO and in total, what became of the AD1s of a recent
 * window, what is held now, the verification reads, and how far each DNO's consumer is behind.
 * Four indexed statements, none taking a lock; the same reads feed GET /metrics.
 */
export class OperatorStatusService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly delivery: DeliveryService,
  ) {}

  async report(
    principal: Principal,
    windowMinutes: number | null | undefined,
  ): Promise<OperatorStatusReport> {
    requireRole(principal, 'OPERATOR');
    const minutes = windowMinutes ?? DEFAULT_STATUS_WINDOW_MINUTES;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_STATUS_WINDOW_MINUTES) {
      throw new InvalidInputError(
        'INVALID_WINDOW',
        `windowMinutes must be between 1 and ${MAX_STATUS_WINDOW_MINUTES}`,
        'windowMinutes',
      );
    }
    const at = this.clock.now();
    const since = new Date(at.getTime() - minutes * MINUTE_MS);
    const [outcomes, held, verifications, streams] = await Promise.all([
      this.dataSource.query(
        `SELECT distributor_id, outcome, count(*)::int AS n FROM alert
          WHERE kind = 'AD1' AND received_at > $1 GROUP BY 1, 2`,
        [since],
      ) as Promise<Count<'outcome'>[]>,
      this.readHeld(''),
      this.dataSource.query(
        `SELECT distributor_id, status, count(*)::int AS n FROM verification_request
          WHERE requested_at > $1 GROUP BY 1, 2`,
        [since],
      ) as Promise<Count<'status'>[]>,
      this.delivery.statuses(principal),
    ]);
    const total = emptyFigures();
    const byDno = new Map<string, ReturnType<typeof emptyFigures>>();
    const figuresOf = (id: string | null) => {
      if (id === null) return undefined;
      let figures = byDno.get(id);
      if (!figures) byDno.set(id, (figures = emptyFigures()));
      return figures;
    };
    const add = (id: string | null, apply: (f: ReturnType<typeof emptyFigures>) => void) => {
      apply(total);
      const figures = figuresOf(id);
      if (figures) apply(figures);
    };
    for (const r of outcomes)
      add(r.distributor_id, (f) => {
        const field = r.outcome === null ? undefined : OUTCOME_FIELD[r.outcome];
        f.alerts = { ...f.alerts, received: f.alerts.received + r.n };
        if (field) f.alerts = { ...f.alerts, [field]: f.alerts[field] + r.n };
      });
    for (const r of held)
      add(r.distributorId, (f) => {
        f.heldNow += r.count;
        if (r.reason === 'AWAITING_VERIFICATION') f.awaitingVerification += r.count;
      });
    for (const r of verifications)
      add(r.distributor_id, (f) => {
        const field = r.status === null ? undefined : STATUS_FIELD[r.status];
        if (field) f.verifications = { ...f.verifications, [field]: f.verifications[field] + r.n };
      });
    const streamOf = new Map(streams.map((s) => [s.distributorId, s]));
    for (const s of streams) figuresOf(s.distributorId);
    const distributors = [...byDno.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([distributorId, figures]) => ({
        distributorId,
        ...figures,
        delivery: streamOf.get(distributorId) ?? null,
      }));
    return { at, since, windowMinutes: minutes, total, distributors };
  }

  /** AD1s HELD now by DNO and reason, for the metrics endpoint. */
  held(): Promise<HeldAlertCounts> {
    return this.readHeld(SCRAPE_STATEMENT);
  }

  /** AD1s HELD now by DNO and reason, through the partial index of held AD1s. */
  private async readHeld(prefix: string): Promise<HeldAlertCounts> {
    const rows = (await this.dataSource.query(
      `${prefix} SELECT distributor_id, reason, count(*)::int AS n FROM alert
        WHERE kind = 'AD1' AND outcome = 'HELD' GROUP BY 1, 2 ORDER BY 1, 2`,
    )) as Count<'reason'>[];
    return rows.map((r) => ({ distributorId: r.distributor_id, reason: r.reason ?? 'UNKNOWN', count: r.n }));
  }
}
