import type { EntityManager } from 'typeorm';
import {
  decidePowerOutageAlert,
  decideSupplyRestoredAlert,
  enforceHoldCeiling,
  identify,
  sameDecision,
} from '../../domain/engine';
import type { AlertDecision, EngineSettings } from '../../domain/engine';
import { AlertEntity } from '../../entities';
import { decodeAlertDecision, decodeRestoreDecision } from '../shared/decision-codec';
import { loadOutageFacts, restoreFactOf, toOutageAlertFact } from '../evidence/outage-facts';
import { openAlertsNear } from '../evidence/open-alerts';
import { isBudgetSuppression } from '../evidence/safety-budget';
import type { VerificationOutbox } from '../evidence/verification-requests';
import type { DecisionChange, DecisionTrigger } from '../shared/decision-change';
import { appendDecisions, changeOf } from './decision-ledger';
import type { LedgerRow } from './decision-ledger';

/** A new AD1 and its first decision, to be stored together (DecisionService.decideNewOutageAlerts). */
export interface NewAlertDecision {
  readonly alert: AlertEntity;
  readonly ledger: LedgerRow;
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
    const alerts = await this.lockOutageAlerts(tx, alertIds);
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
    return this.decideHeldAlerts(tx, alerts, now, trigger, earlier, true);
  }

  /**
   * decideOutageAlerts; with `redecideRefused`, the AD1s whose read of the meter the request
   * budget refused are decided again at once (see redecideRefused).
   */
  private async decideHeldAlerts(
    tx: EntityManager,
    alerts: readonly AlertEntity[],
    now: Date,
    trigger: DecisionTrigger,
    earlier: readonly DecisionChange[],
    redecideRefused: boolean,
  ): Promise<{ changes: DecisionChange[]; withheldNeighbours: string[] }> {
    if (alerts.length === 0) return { changes: [], withheldNeighbours: [] };
    const plan = await this.plan(tx, alerts, now, trigger, earlier, false);
    await appendDecisions(tx, plan.rows);
    const refused = await this.askMeters(tx, plan.awaitingVerification, now);
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
    const changes = [...plan.changes, ...restoreChanges];
    if (redecideRefused && refused.length)
      changes.push(...(await this.redecideRefused(tx, refused, now, trigger, [...earlier, ...changes])));
    return { changes, withheldNeighbours: plan.withheldNeighbours };
  }

  /** Locks stored AD1s in id order (so concurrent batches touching the same alerts cannot deadlock). */
  private lockOutageAlerts(tx: EntityManager, alertIds: readonly string[]): Promise<AlertEntity[]> {
    return tx
      .getRepository(AlertEntity)
      .createQueryBuilder('a')
      .setLock('pessimistic_write')
      .where("a.id = ANY(:ids::bigint[]) AND a.kind = 'AD1'", { ids: [...new Set(alertIds)] })
      .orderBy('a.id')
      .getMany();
  }

  /** Sends the reads of the meter these decisions ask for; returns the AD1s the budget refused. */
  private async askMeters(
    tx: EntityManager,
    awaiting: readonly { alert: AlertEntity; decision: AlertDecision }[],
    now: Date,
  ): Promise<string[]> {
    if (awaiting.length === 0 || !this.verifications) return [];
    return this.verifications.requestFor(tx, awaiting, now);
  }

  /**
   * Decides again, in the transaction that asked, the AD1s whose read of the meter the budget
   * just refused: the engine sees the SKIPPED request and releases them (VERIFICATION_BUDGET_SPENT),
   * so they reach their DNO with this transaction's other changes. Once only: should the engine
   * hold one again, it holds it on a timer of its own, which decides it later.
   */
  private async redecideRefused(
    tx: EntityManager,
    alertIds: readonly string[],
    now: Date,
    trigger: DecisionTrigger,
    earlier: readonly DecisionChange[],
  ): Promise<DecisionChange[]> {
    const alerts = await this.lockOutageAlerts(tx, alertIds);
    return (await this.decideHeldAlerts(tx, alerts, now, trigger, earlier, false)).changes;
  }

  /**
   * The last resort of the liveness guarantee (docs/ENGINE.md, "Liveness"), for AD1s the caller
   * has locked and decided again with `now`: one still HELD against the guarantee
   * (enforceHoldCeiling) is released with HOLD_CEILING_ENFORCED, its restores following; one held
   * within it but with no timer gets its timer back. Returns the changes and what it did to whom.
   */
  async enforceHoldCeilings(
    tx: EntityManager,
    alertIds: readonly string[],
    now: Date,
    trigger: DecisionTrigger,
  ): Promise<{ changes: DecisionChange[]; released: string[]; rearmed: string[] }> {
    const held = (await this.lockOutageAlerts(tx, alertIds)).filter((a) => a.outcome === 'HELD');
    const latest = held.length
      ? await this.latestDecisions(
          tx,
          held.map((a) => a.id),
        )
      : new Map();
    const rows: LedgerRow[] = [];
    const changes: DecisionChange[] = [];
    const rearm: { alert: AlertEntity; dueAt: Date }[] = [];
    for (const alert of held) {
      const json: unknown = latest.get(alert.id);
      const decision = json ? decodeAlertDecision(json) : null;
      if (decision === null) continue;
      const released = enforceHoldCeiling(toOutageAlertFact(alert), decision, this.settings, now);
      if (released) {
        const { row, change } = changeOf(alert, released, alert.inActivationWindow, trigger, now, undefined);
        rows.push(row);
        changes.push(change);
      } else if (alert.dueAt === null && decision.dueAt) rearm.push({ alert, dueAt: decision.dueAt });
    }
    await appendDecisions(tx, rows);
    if (rearm.length) {
      await tx.query(
        `UPDATE alert SET due_at = r.due_at
           FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS r(id, event_at, due_at)
          WHERE alert.id = r.id AND alert.event_at >= r.event_at AND alert.event_at < r.event_at + interval '1 ms'`,
        [rearm.map((r) => r.alert.id), rearm.map((r) => r.alert.eventAt), rearm.map((r) => r.dueAt)],
      );
    }
    const restores = await this.followPairedRestores(
      tx,
      changes.map((c) => ({ alert: c.alert, decision: c.decision as AlertDecision })),
      now,
      trigger,
    );
    return {
      changes: [...changes, ...restores],
      released: changes.map((c) => c.alert.id),
      rearmed: rearm.map((r) => r.alert.id),
    };
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
    const refused = await this.askMeters(tx, awaiting, now);
    const changes = plan.changes.filter((c) => stored.has(c.alert.id));
    if (refused.length) changes.push(...(await this.redecideRefused(tx, refused, now, 'INGEST', changes)));
    return { changes, withheldNeighbours: plan.withheldNeighbours };
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
        trigger,
      });
    }
    await appendDecisions(tx, rows);
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
}
