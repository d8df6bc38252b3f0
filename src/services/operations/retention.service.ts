import type { DataSource, EntityManager } from 'typeorm';
import type { Clock } from '../../clock';
import { returnedRows } from '../../db/rows';
import type { Logger } from '../../logger';

/** The tables partitioned by the alert's event month, children before parents. */
const TABLES = ['dno_outbox', 'alert_decision', 'alert'] as const;
/** Months created ahead of the current one, so ingest never waits for a partition. */
const MONTHS_AHEAD = 2;
/** Held by whichever instance is doing retention; the others skip their turn. */
const LOCK_KEY = 'poa_sieve.retention';
const PARTITION = /^alert_p(\d{4})_(\d{2})$/;
/** Safety-budget counters are kept this long past the budget window (a window raised at a restart still finds them). */
const BUDGET_GRACE_MINUTES = 24 * 60;

export interface RetentionSettings {
  /** Whole months kept before the current one; 0 keeps everything. */
  readonly months: number;
  /** The safety budget's window: its per-minute counters are kept for a day past it. */
  readonly budgetWindowMinutes: number;
}

export interface RetentionReport {
  /** False when another instance held the job's lock (nothing was done here). */
  readonly ran: boolean;
  /** Months (YYYY-MM) whose partitions were created. */
  readonly created: string[];
  /** Alerts moved out of the default partition into a newly created month. */
  readonly moved: number;
  /** Months dropped, with all their alerts, decisions and DNO messages. */
  readonly dropped: string[];
  /** Months past retention that still hold an alert waiting on a timer: kept until it is decided. */
  readonly keptForTimers: string[];
  /** Alerts past retention deleted from the default partition (event times outside every month). */
  readonly deletedFromDefault: number;
  /** Safety-budget counter rows (scope, key, minute) deleted: a day or more past the window. */
  readonly budgetMinutesDeleted: number;
  /** Verification requests deleted: made before the oldest month kept. */
  readonly verificationRequestsDeleted: number;
}

/** The report of a run that found another instance holding the lock (a fresh one: callers own it). */
const notRan = (): RetentionReport => ({
  ran: false,
  created: [],
  moved: 0,
  dropped: [],
  keptForTimers: [],
  deletedFromDefault: 0,
  budgetMinutesDeleted: 0,
  verificationRequestsDeleted: 0,
});

const monthStart = (d: Date, offset = 0) =>
  new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1));
const label = (d: Date) => `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
const suffix = (d: Date) => `p${label(d).replace('-', '_')}`;

/**
 * Retention for the monthly partitions of alert, alert_decision and dno_outbox (migration
 * MonthlyPartitions): creates the months ahead, and drops whole months past the retention
 * setting, all three tables together. Runs at start-up and every hour on every instance; one
 * at a time through an advisory lock, with a lock timeout so it never stalls ingest (it tries
 * again next time).
 *
 * Nothing waiting on a timer is ever dropped: a month that still holds an alert with `due_at`
 * is kept. Rows in the DEFAULT partitions (event times outside every month, e.g. a meter with a
 * wrong clock) are deleted by their received time instead; a month created while the default
 * holds some of its rows takes them over.
 */
export class RetentionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly settings: RetentionSettings,
  ) {}

  async run(): Promise<RetentionReport> {
    const now = this.clock.now();
    const report = await this.dataSource.transaction(async (tx) => {
      const [{ locked }] = (await tx.query(
        `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked`,
        [LOCK_KEY],
      )) as { locked: boolean }[];
      if (!locked) return null;
      await tx.query(`SET LOCAL lock_timeout = '5s'`);
      // Lets the ledger's append-only trigger allow this transaction's deletes.
      await tx.query(`SET LOCAL poa_sieve.retention = 'on'`);
      const existing = await this.months(tx);
      const ahead = await this.createMonthsAhead(tx, existing, now);
      const past = await this.dropPastRetention(tx, existing, now);
      const budgetMinutesDeleted = await this.trimBudget(tx, now);
      return {
        ran: true,
        created: ahead.created,
        moved: ahead.moved,
        dropped: past.dropped,
        keptForTimers: past.keptForTimers,
        deletedFromDefault: past.deletedFromDefault,
        budgetMinutesDeleted,
        verificationRequestsDeleted: past.verificationRequestsDeleted,
      };
    });
    if (!report) return notRan();
    if (report.created.length || report.dropped.length || report.deletedFromDefault)
      this.log.info(report, 'retention: partitions maintained');
    if (report.keptForTimers.length)
      this.log.warn(
        { months: report.keptForTimers },
        'retention: months past retention kept: alerts still on a timer',
      );
    return report;
  }

  /** Creates the current month and the MONTHS_AHEAD after it where missing. */
  private async createMonthsAhead(
    tx: EntityManager,
    existing: Map<string, Date>,
    now: Date,
  ): Promise<Pick<RetentionReport, 'created' | 'moved'>> {
    const created: string[] = [];
    let moved = 0;
    for (let m = 0; m <= MONTHS_AHEAD; m += 1) {
      const month = monthStart(now, m);
      if (existing.has(label(month))) continue;
      moved += await this.createMonth(tx, month);
      created.push(label(month));
    }
    return { created, moved };
  }

  /**
   * Drops the months past retention (but those still holding an alert on a timer), trims the
   * default partitions and deletes old verification requests; nothing when retention is 0.
   */
  private async dropPastRetention(
    tx: EntityManager,
    existing: Map<string, Date>,
    now: Date,
  ): Promise<
    Pick<RetentionReport, 'dropped' | 'keptForTimers' | 'deletedFromDefault' | 'verificationRequestsDeleted'>
  > {
    const dropped: string[] = [];
    const keptForTimers: string[] = [];
    let deletedFromDefault = 0;
    let verificationRequestsDeleted = 0;
    if (this.settings.months > 0) {
      const cutoff = monthStart(now, -this.settings.months);
      for (const [name, month] of existing) {
        if (month >= cutoff) continue;
        const held = (await tx.query(
          `SELECT 1 FROM alert_${suffix(month)} WHERE due_at IS NOT NULL LIMIT 1`,
        )) as [];
        if (held.length) {
          keptForTimers.push(name);
          continue;
        }
        for (const table of TABLES) await tx.query(`DROP TABLE ${table}_${suffix(month)}`);
        dropped.push(name);
      }
      deletedFromDefault = await this.trimDefault(tx, cutoff);
      // Verification requests follow the alerts they were made for.
      verificationRequestsDeleted = returnedRows(
        await tx.query(`DELETE FROM verification_request WHERE requested_at < $1 RETURNING 1`, [cutoff]),
      ).length;
    }
    return { dropped, keptForTimers, deletedFromDefault, verificationRequestsDeleted };
  }

  /** Deletes the safety budget's per-minute counters a day or more past its window. */
  private async trimBudget(tx: EntityManager, now: Date): Promise<number> {
    // Derived data, whatever the retention setting: a budget read never looks this far back.
    return returnedRows(
      await tx.query(`DELETE FROM safety_budget_minute WHERE minute < $1 RETURNING 1`, [
        new Date(now.getTime() - (this.settings.budgetWindowMinutes + BUDGET_GRACE_MINUTES) * 60_000),
      ]),
    ).length;
  }

  /** The months that have partitions, by YYYY-MM, oldest first. */
  private async months(tx: EntityManager): Promise<Map<string, Date>> {
    const rows = (await tx.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'alert'::regclass ORDER BY 1`,
    )) as { name: string }[];
    const months = new Map<string, Date>();
    for (const { name } of rows) {
      const m = PARTITION.exec(name);
      if (m) {
        const month = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
        months.set(label(month), month);
      }
    }
    return months;
  }

  /**
   * Creates one month of all three tables. Rows of that month already in a default partition
   * move into it first (a partition cannot be created over rows the default holds).
   */
  private async createMonth(tx: EntityManager, month: Date): Promise<number> {
    const from = month.toISOString();
    const to = monthStart(month, 1).toISOString();
    let moved = 0;
    for (const table of TABLES) {
      const name = `${table}_${suffix(month)}`;
      const key = table === 'alert' ? 'event_at' : 'alert_event_at';
      await tx.query(`CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      const rows = (await tx.query(
        `WITH m AS (DELETE FROM ${table}_default WHERE ${key} >= $1 AND ${key} < $2 RETURNING *)
         INSERT INTO ${name} SELECT * FROM m RETURNING 1`,
        [from, to],
      )) as unknown[];
      if (table === 'alert') moved = rows.length;
      await tx.query(
        `ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`,
      );
    }
    return moved;
  }

  /** Deletes alerts past retention (by received time) from the default partitions, with their rows. */
  private async trimDefault(tx: EntityManager, cutoff: Date): Promise<number> {
    const ids = returnedRows<{ id: string }>(
      await tx.query(
        `DELETE FROM alert_default WHERE received_at < $1 AND due_at IS NULL RETURNING id::text AS id`,
        [cutoff],
      ),
    ).map((r) => r.id);
    if (ids.length === 0) return 0;
    await tx.query(`DELETE FROM alert_decision_default WHERE alert_id = ANY($1::bigint[])`, [ids]);
    await tx.query(`DELETE FROM dno_outbox_default WHERE alert_id = ANY($1::bigint[])`, [ids]);
    return ids.length;
  }
}
