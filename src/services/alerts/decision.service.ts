import type { EntityManager } from 'typeorm';
import {
  decidePowerOutageAlert,
  decideSupplyRestoredAlert,
  identify,
  nextEvaluationAt,
  sameDecision,
} from '../../domain/engine';
import type { AlertDecision, EngineSettings } from '../../domain/engine';
import type { DecisionOutcome } from '../../domain/model';
import { AlertEntity } from '../../entities';
import { decodeAlertDecision, decodeRestoreDecision } from '../shared/decision-codec';
import { loadOutageFacts, restoreFactOf, toOutageAlertFact } from '../evidence/outage-facts';
import { openAlertsNear } from '../evidence/open-alerts';
import { isBudgetSuppression } from '../evidence/safety-budget';
import type { VerificationOutbox } from '../evidence/verification-requests';
import type { DecisionChange, DecisionTrigger } from '../shared/decision-change';

/** A new AD1 and its first decision, to be stored together (DecisionService.decideNewOutageAlerts). */
export interface NewAlertDecision {
  readonly alert: AlertEntity;
  readonly ledger: LedgerRow;
}

/** One ledger entry, with the alert state it moves the alert to. */
export interface LedgerRow {
  alertId: string;
  /** The alert's event time: the ledger is partitioned with its alert. */
  alertEventAt: Date;
  revision: number;
  outcome: DecisionOutcome;
  reason: string;
  late: boolean;
  ruleId: string | null;
  ruleVersion: number | null;
  activationId: string | null;
  windowFrom: Date | null;
  windowTo: Date | null;
  dueAt: Date | null;
  decidedAt: Date;
  trigger: DecisionTrigger;
  decision: unknown;
  inActivationWindow: boolean;
}

/**
 * Runs the decision engine over stored alerts inside the caller's transaction: locks the
 * alerts, loads their facts, decides, and appends every changed decision to the ledger with the
 * alert's current state and durable timer (`due_at`). Restores paired with a changed AD1 are
 * re-decided in the same step, so they always follow their AD1.
 */
export class DecisionService {
  constructor(
    private readonly settings: EngineSettings,
    /** Sends the verification requests decisions ask for; absent: none are sent. */
    private readonly verifications: VerificationOutbox | null = null,
  ) {}

  /**
   * AD1s new evidence about these devices may change: withheld ones, and those delivered within
   * the correction bound (see openAlertsNear).
   */
  async alertsOpenNear(
    tx: EntityManager,
    touched: readonly { device: string; at: Date }[],
    now: Date,
  ): Promise<string[]> {
    if (touched.length === 0) return [];
    const since = new Date(now.getTime() - this.settings.correctionHours * 3600_000);
    return (await openAlertsNear(tx, touched, since)).map((r) => r.id);
  }

  async evaluateOutageAlerts(
    tx: EntityManager,
    alertIds: readonly string[],
    now: Date,
    trigger: DecisionTrigger,
    /** Changes this transaction made before: the safety budget counts them. */
    earlier: readonly DecisionChange[] = [],
  ): Promise<DecisionChange[]> {
    if (alertIds.length === 0) return [];
    // Lock in id order so concurrent batches touching the same alerts cannot deadlock.
    const alerts = await tx
      .getRepository(AlertEntity)
      .createQueryBuilder('a')
      .setLock('pessimistic_write')
      .where("a.id = ANY(:ids::bigint[]) AND a.kind = 'AD1'", { ids: [...new Set(alertIds)] })
      .orderBy('a.id')
      .getMany();
    return (await this.decideOutageAlerts(tx, alerts, now, trigger, earlier)).changes;
  }

  /**
   * Decides AD1s the caller holds: locked, or inserted by this transaction (nobody else sees
   * them before commit). Also returns the withheld AD1s near them, read with their facts.
   */
  async decideOutageAlerts(
    tx: EntityManager,
    alerts: readonly AlertEntity[],
    now: Date,
    trigger: DecisionTrigger,
    earlier: readonly DecisionChange[] = [],
  ): Promise<{ changes: DecisionChange[]; withheldNeighbours: string[] }> {
    if (alerts.length === 0) return { changes: [], withheldNeighbours: [] };
    const plan = await this.plan(tx, alerts, now, trigger, earlier, false);
    await this.append(tx, plan.rows);
    if (plan.awaitingVerification.length && this.verifications)
      await this.verifications.requestFor(tx, plan.awaitingVerification, now);
    if (plan.flagOnly.length) {
      await tx.query(
        `UPDATE alert SET in_activation_window = f.flag
           FROM unnest($1::bigint[], $2::timestamptz[], $3::boolean[]) AS f(id, event_at, flag)
          WHERE alert.id = f.id AND alert.event_at >= f.event_at AND alert.event_at < f.event_at + interval '1 ms'`,
        [
          plan.flagOnly.map((f) => f.alert.id),
          plan.flagOnly.map((f) => f.alert.eventAt),
          plan.flagOnly.map((f) => f.inWindow),
        ],
      );
    }
    // Restores are paired only with AD1s already decided (ingest pairs after deciding), so an
    // alert decided for the first time has none to take along.
    const restoreChanges = await this.followPairedRestores(
      tx,
      plan.changes
        .filter((c) => c.alert.revision > 0)
        .map((c) => ({ alert: c.alert, decision: c.decision as AlertDecision })),
      now,
      trigger,
    );
    return { changes: [...plan.changes, ...restoreChanges], withheldNeighbours: plan.withheldNeighbours };
  }

  /**
   * Decides AD1s that are not stored yet (a new batch, their IDs allocated) and has `store`
   * write each with its first decision: the alert row already in its decided state, and its
   * ledger entry, in one statement. Writing the row undecided and then updating it cost every
   * new alert a second version of its row and of each of its nine index entries: 15% of a
   * 500-alert batch's time. `store` returns the IDs it wrote; an alert it did not (a concurrent
   * batch stored the same one first) keeps no decision from here.
   */
  async decideNewOutageAlerts(
    tx: EntityManager,
    alerts: readonly AlertEntity[],
    now: Date,
    store: (decided: readonly NewAlertDecision[]) => Promise<ReadonlySet<string>>,
  ): Promise<{ changes: DecisionChange[]; withheldNeighbours: string[] }> {
    if (alerts.length === 0) return { changes: [], withheldNeighbours: [] };
    const plan = await this.plan(tx, alerts, now, 'INGEST', [], true);
    const byId = new Map(alerts.map((a) => [a.id, a]));
    const stored = await store(plan.rows.map((row) => ({ alert: byId.get(row.alertId)!, ledger: row })));
    const awaiting = plan.awaitingVerification.filter((a) => stored.has(a.alert.id));
    if (awaiting.length && this.verifications) await this.verifications.requestFor(tx, awaiting, now);
    return {
      changes: plan.changes.filter((c) => stored.has(c.alert.id)),
      withheldNeighbours: plan.withheldNeighbours,
    };
  }

  /** Loads the facts and runs the engine: what would change, nothing written. */
  private async plan(
    tx: EntityManager,
    alerts: readonly AlertEntity[],
    now: Date,
    trigger: DecisionTrigger,
    earlier: readonly DecisionChange[],
    unstored: boolean,
  ): Promise<{
    rows: LedgerRow[];
    changes: DecisionChange[];
    flagOnly: { alert: AlertEntity; inWindow: boolean }[];
    awaitingVerification: { alert: AlertEntity; decision: AlertDecision }[];
    withheldNeighbours: string[];
  }> {
    // An alert never decided (revision 0) has no ledger: nothing to read for it.
    const decided = alerts.filter((a) => a.revision > 0).map((a) => a.id);
    const previous = decided.length ? await this.latestDecisions(tx, decided) : new Map<string, unknown>();
    const bundle = await loadOutageFacts(tx, alerts, now, this.settings, earlier, unstored);

    // First pass: which of these alerts lie in an activation window, so that alerts of one batch
    // see each other correctly as cluster neighbours.
    const inWindow = new Map<string, boolean>();
    for (const alert of alerts) {
      const facts = bundle.factsFor(alert, null, inWindow);
      inWindow.set(alert.id, identify(facts, facts.rules, this.settings, now).candidates.length > 0);
    }

    const rows: LedgerRow[] = [];
    const changes: DecisionChange[] = [];
    const flagOnly: { alert: AlertEntity; inWindow: boolean }[] = [];
    const awaitingVerification: { alert: AlertEntity; decision: AlertDecision }[] = [];
    for (const alert of alerts) {
      const prev = previous.get(alert.id) ?? null;
      const prevDecision = prev ? decodeAlertDecision(prev) : null;
      const facts = bundle.factsFor(alert, prevDecision, inWindow);
      const next = decidePowerOutageAlert(facts, this.settings, now);
      if (next.reason === 'AWAITING_VERIFICATION') awaitingVerification.push({ alert, decision: next });
      const flag = inWindow.get(alert.id) ?? false;
      if (prevDecision && sameDecision(prevDecision, next)) {
        if (flag !== alert.inActivationWindow) flagOnly.push({ alert, inWindow: flag });
        continue;
      }
      const wasSuppression = isBudgetSuppression(alert.outcome);
      const isSuppression = isBudgetSuppression(next.outcome);
      if (wasSuppression !== isSuppression) bundle.countSuppression(alert, isSuppression ? 1 : -1);
      const { row, change } = changeOf(alert, next, flag, trigger, now, facts.deliveryPreference);
      rows.push(row);
      changes.push(change);
    }
    return {
      rows,
      changes,
      flagOnly,
      awaitingVerification,
      withheldNeighbours: bundle.withheldNeighbours(alerts),
    };
  }

  /**
   * Decides restores: each takes the treatment of the AD1 it pairs with (given, after that AD1
   * was re-decided with the restore among its facts), or is delivered on its own.
   */
  async decideRestores(
    tx: EntityManager,
    restores: readonly {
      restore: AlertEntity;
      paired: { alert: AlertEntity; decision: AlertDecision | null } | null;
    }[],
    now: Date,
    trigger: DecisionTrigger,
  ): Promise<DecisionChange[]> {
    if (restores.length === 0) return [];
    const previous = await this.latestDecisions(
      tx,
      restores.map((r) => r.restore.id),
    );
    const rows: LedgerRow[] = [];
    const changes: DecisionChange[] = [];
    for (const { restore, paired } of restores) {
      const prevJson = previous.get(restore.id);
      const prev = prevJson ? decodeRestoreDecision(prevJson) : null;
      const next = decideSupplyRestoredAlert(
        restoreFactOf(restore),
        paired ? { alert: toOutageAlertFact(paired.alert), decision: paired.decision } : null,
        prev,
        now,
      );
      if (
        prev === next ||
        (prev &&
          prev.outcome === next.outcome &&
          prev.reason === next.reason &&
          prev.pairedAlertId === next.pairedAlertId)
      ) {
        continue;
      }
      const revision = restore.revision + 1;
      rows.push({
        alertId: restore.id,
        alertEventAt: restore.eventAt,
        revision,
        outcome: next.outcome,
        reason: next.reason,
        late: next.late,
        ruleId: null,
        ruleVersion: null,
        activationId: null,
        windowFrom: null,
        windowTo: null,
        dueAt: next.dueAt,
        decidedAt: now,
        trigger,
        decision: next,
        inActivationWindow: false,
      });
      changes.push({
        alert: restore,
        revision,
        previousOutcome: restore.outcome,
        outcome: next.outcome,
        reason: next.reason,
        late: next.late,
        decision: next,
        dueAt: next.dueAt,
      });
    }
    await this.append(tx, rows);
    return changes;
  }

  /**
   * Re-decides restores by ID, each with the current decision of the AD1 it pairs with (a held
   * restore whose timer came due follows wherever its AD1 went).
   */
  async redecideRestores(
    tx: EntityManager,
    restoreIds: readonly string[],
    now: Date,
    trigger: DecisionTrigger,
  ): Promise<DecisionChange[]> {
    const repo = tx.getRepository(AlertEntity);
    const restores = await repo
      .createQueryBuilder('a')
      .where('a.id = ANY(:ids::bigint[])', { ids: [...restoreIds] })
      .getMany();
    const ad1Ids = restores.map((r) => r.pairedAlertId).filter((id): id is string => id !== null);
    const ad1s = ad1Ids.length
      ? await repo.createQueryBuilder('a').where('a.id = ANY(:ids::bigint[])', { ids: ad1Ids }).getMany()
      : [];
    const latest = await this.latestDecisions(tx, ad1Ids);
    const byId = new Map(ad1s.map((a) => [a.id, a]));
    return this.decideRestores(
      tx,
      restores.map((restore) => {
        const alert = restore.pairedAlertId ? byId.get(restore.pairedAlertId) : undefined;
        const json = alert ? latest.get(alert.id) : undefined;
        return {
          restore,
          paired: alert ? { alert, decision: json ? decodeAlertDecision(json) : null } : null,
        };
      }),
      now,
      trigger,
    );
  }

  /** The latest stored decision (raw ledger JSON) of each alert. */
  async latestDecisions(tx: EntityManager, alertIds: readonly string[]): Promise<Map<string, unknown>> {
    const rows = (await tx.query(
      `SELECT DISTINCT ON (alert_id) alert_id::text AS alert_id, decision FROM alert_decision
        WHERE alert_id = ANY($1::bigint[]) ORDER BY alert_id, revision DESC`,
      [[...alertIds]],
    )) as { alert_id: string; decision: unknown }[];
    return new Map(rows.map((r) => [r.alert_id, r.decision]));
  }

  private async followPairedRestores(
    tx: EntityManager,
    changed: readonly { alert: AlertEntity; decision: AlertDecision }[],
    now: Date,
    trigger: DecisionTrigger,
  ): Promise<DecisionChange[]> {
    if (changed.length === 0) return [];
    const byAd1 = new Map(changed.map((c) => [c.alert.id, c]));
    const restores = await tx
      .getRepository(AlertEntity)
      .createQueryBuilder('a')
      .setLock('pessimistic_write')
      .where("a.paired_alert_id = ANY(:ids::bigint[]) AND a.kind = 'SUPPLY_RESTORED'", {
        ids: [...byAd1.keys()],
      })
      .orderBy('a.id')
      .getMany();
    return this.decideRestores(
      tx,
      restores.map((restore) => ({ restore, paired: byAd1.get(restore.pairedAlertId!) ?? null })),
      now,
      trigger,
    );
  }

  /**
   * Appends ledger rows and moves each alert's current state and timer on, in one statement (the
   * ledger INSERT runs as a CTE of the UPDATE). The event time joins too, so each row's update
   * looks in one monthly partition instead of probing every partition's key index; it is matched
   * to the millisecond the entity carries (a Date), whatever precision the column holds.
   */
  private async append(tx: EntityManager, rows: readonly LedgerRow[]): Promise<void> {
    if (rows.length === 0) return;
    const col = <K extends keyof LedgerRow>(k: K) => rows.map((r) => r[k]);
    const result: unknown = await tx.query(
      `WITH ledger AS (
         INSERT INTO alert_decision (alert_id, revision, outcome, reason, late, rule_id, rule_version, activation_id,
                                     window_from, window_to, due_at, decided_at, trigger, decision, alert_event_at)
         SELECT a, r, o, re, l, ru, rv, ac, wf, wt, du, de, tr, $14::jsonb -> (n - 1)::int, ev
           FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::boolean[], $6::uuid[], $7::int[],
                       $8::uuid[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[],
                       $13::text[], $15::timestamptz[])
                WITH ORDINALITY AS d(a, r, o, re, l, ru, rv, ac, wf, wt, du, de, tr, ev, n)
       )
       UPDATE alert SET outcome = u.outcome, reason = u.reason, revision = u.revision, due_at = u.due_at,
                        in_activation_window = u.in_window
         FROM unnest($1::bigint[], $15::timestamptz[], $3::text[], $4::text[], $2::int[], $11::timestamptz[],
                     $16::boolean[]) AS u(id, event_at, outcome, reason, revision, due_at, in_window)
        WHERE alert.id = u.id AND alert.event_at >= u.event_at AND alert.event_at < u.event_at + interval '1 ms'`,
      [
        col('alertId'),
        col('revision'),
        col('outcome'),
        col('reason'),
        col('late'),
        col('ruleId'),
        col('ruleVersion'),
        col('activationId'),
        col('windowFrom'),
        col('windowTo'),
        col('dueAt'),
        col('decidedAt'),
        col('trigger'),
        // One JSON array rather than a jsonb[]: an array parameter escapes every quote of every
        // decision into an array literal (in JS, 4% of a batch's server time), and PostgreSQL
        // undoes it; `-> i` takes each element back out.
        JSON.stringify(rows.map((r) => r.decision)),
        col('alertEventAt'),
        col('inActivationWindow'),
      ],
    );
    // A ledger row whose alert row did not move would leave the alert's state and timer behind
    // its ledger: refuse the whole transaction rather than commit that.
    const updated = Array.isArray(result) && typeof result[1] === 'number' ? result[1] : rows.length;
    if (updated !== rows.length) {
      throw new Error(`decision append: ${updated} alert rows updated for ${rows.length} ledger rows`);
    }
  }
}

/** A new decision of an alert: its ledger row (with the alert's next state) and the change it makes. */
function changeOf(
  alert: AlertEntity,
  next: AlertDecision,
  inWindow: boolean,
  trigger: DecisionTrigger,
  now: Date,
  preference: DecisionChange['preference'],
): { row: LedgerRow; change: DecisionChange } {
  const revision = alert.revision + 1;
  const dueAt = nextEvaluationAt(next);
  return {
    row: {
      alertId: alert.id,
      alertEventAt: alert.eventAt,
      revision,
      outcome: next.outcome,
      reason: next.reason,
      late: next.late,
      ruleId: next.ruleId,
      ruleVersion: next.ruleVersion,
      activationId: next.activationId,
      windowFrom: next.window?.from ?? null,
      windowTo: next.window?.to ?? null,
      dueAt,
      decidedAt: now,
      trigger,
      decision: next,
      inActivationWindow: inWindow,
    },
    change: {
      alert,
      revision,
      previousOutcome: alert.outcome,
      outcome: next.outcome,
      reason: next.reason,
      late: next.late,
      decision: next,
      dueAt,
      preference,
    },
  };
}
