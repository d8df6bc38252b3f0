import type { DataSource } from 'typeorm';
import type { Clock } from '../../clock';
import { SCRAPE_STATEMENT } from '../../db/data-source';
import { dnoBudgetState } from '../../domain/engine';
import type { EngineSettings } from '../../domain/engine';
import { budgetCountsSql } from '../evidence/safety-budget';

const MINUTE_MS = 60_000;

export interface HoldQueueState {
  /** Alerts waiting on a timer (held AD1s and the restores that follow them). */
  readonly depth: number;
  /** The earliest due time among them, or null when the queue is empty. */
  readonly oldestDueAt: Date | null;
}

export interface DnoBudgetState {
  readonly distributorId: string;
  /** AD1s withheld (suppressed or paired) within the budget window. */
  readonly suppressions: number;
  /** AD1s received within the budget window. */
  readonly alerts: number;
  /** True when the next OTA-induced AD1 of this DNO would be released by the budget. */
  readonly exhausted: boolean;
}

/** Verification requests made within the last hour, by status (PENDING: still waiting). */
export type VerificationQueueState = { readonly status: string; readonly count: number }[];

/**
 * The state an operator watches, read at scrape time (GET /metrics). Each read is one indexed
 * statement; none takes a lock.
 */
export class OperationsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly engine: EngineSettings,
  ) {}

  async holdQueue(): Promise<HoldQueueState> {
    const [row] = (await this.dataSource.query(
      `${SCRAPE_STATEMENT} SELECT count(*)::int AS depth, min(due_at) AS oldest FROM alert WHERE due_at IS NOT NULL`,
    )) as { depth: number; oldest: Date | null }[];
    return { depth: row.depth, oldestDueAt: row.oldest ? new Date(row.oldest) : null };
  }

  /** Verification requests of the last hour by status (the meter answering, staying silent, or the budget refusing). */
  async verifications(): Promise<VerificationQueueState> {
    const since = new Date(this.clock.now().getTime() - 60 * MINUTE_MS);
    return (await this.dataSource.query(
      `${SCRAPE_STATEMENT} SELECT status, count(*)::int AS count FROM verification_request
        WHERE requested_at > $1 GROUP BY status ORDER BY status`,
      [since],
    )) as VerificationQueueState;
  }

  /** Every DNO that received an AD1 within the budget window, with its budget state. */
  async budgets(): Promise<DnoBudgetState[]> {
    const since = new Date(this.clock.now().getTime() - this.engine.budget.windowMinutes * MINUTE_MS);
    const rows = (await this.dataSource.query(
      `${SCRAPE_STATEMENT} SELECT key AS distributor_id, suppressions, alerts
         FROM (${budgetCountsSql('DNO', null, '$1')}) c WHERE alerts > 0 ORDER BY 1`,
      [since],
    )) as { distributor_id: string; suppressions: number; alerts: number }[];
    return rows.map((r) => {
      const counters = { suppressions: r.suppressions, alerts: r.alerts };
      return {
        distributorId: r.distributor_id,
        ...counters,
        exhausted: dnoBudgetState(counters, this.engine).spent !== null,
      };
    });
  }
}
