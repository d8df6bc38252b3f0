import type { DataSource } from 'typeorm';
import type { Principal } from '../../auth/principal';
import type { Clock } from '../../clock';
import { DECISION_OUTCOMES } from '../../domain/model';
import type { DecisionOutcome } from '../../domain/model';
import { InvalidInputError } from '../../domain/errors';
import { parseEui64 } from '../../domain/identifiers';
import { activationName, explainAlertDecision, explainRestoreDecision } from '../../domain/engine';
import type { DecisionForReader, RestoreDecisionView } from '../../domain/engine';
import {
  ActivationOutcomeClaimEntity,
  AlertDecisionEntity,
  AlertEntity,
  FirmwareActivationEntity,
} from '../../entities';
import type { AlertNow } from '../delivery/current-alerts';
import { decodeAlertDecision, decodeRestoreDecision } from '../shared/decision-codec';
import { ledgerEntryForReader, ledgerNames, mayReadAlert, requireRole } from '../shared/access';
import type { EvidenceFacts, LedgerEntry, User } from '../shared/access';
import { loadEvidenceFacts } from './evidence-facts';
import { CURSOR_PART, keysetPage } from '../shared/pagination';
import type { Page, SortDirection } from '../shared/pagination';

export interface AlertFilter {
  readonly kind?: 'AD1' | 'SUPPLY_RESTORED' | null;
  readonly outcome?: DecisionOutcome | null;
  readonly distributorId?: string | null;
  /** Only alerts that could not be routed to a network operator (operators only). */
  readonly unrouted?: boolean | null;
  readonly deviceGuid?: string | null;
  readonly receivedFrom?: Date | null;
  readonly receivedTo?: Date | null;
}

export interface SuppressionStat {
  readonly distributorId: string | null;
  readonly outcome: DecisionOutcome;
  readonly reason: string;
  readonly count: number;
}

/**
 * Reading alerts and their decisions. Distributors see the alerts routed to their distributor
 * IDs; operators see everything, the UNROUTED queue included; suppliers see no alerts.
 */
export class AlertService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /**
   * Ledger entries as `principal` may read them (`ledgerEntryForReader`): every path that hands
   * out a decision, the loaders and `explain`, goes through here.
   */
  async forReader<T extends LedgerEntry>(principal: Principal, entries: readonly T[]): Promise<T[]> {
    if (entries.length === 0) return [];
    const facts: EvidenceFacts = await this.evidenceFacts(principal, ledgerNames(entries));
    return entries.map((entry) => ledgerEntryForReader(principal, entry, facts));
  }

  /** Whose devices and alerts these are, as far as `principal`'s evidence rule needs. */
  evidenceFacts(
    principal: Principal,
    names: { readonly devices: readonly string[]; readonly alerts: readonly string[] },
  ): Promise<EvidenceFacts> {
    return loadEvidenceFacts(this.dataSource, principal, names, this.clock.now());
  }

  async list(
    principal: Principal,
    filter: AlertFilter,
    first?: number | null,
    after?: string | null,
    direction: SortDirection = 'DESC',
  ): Promise<Page<AlertEntity>> {
    const user = requireRole(principal, 'OPERATOR', 'ED');
    const qb = this.dataSource.getRepository(AlertEntity).createQueryBuilder('a');
    if (user.role === 'ED') qb.andWhere('a.distributor_id = ANY(:own)', { own: [...user.distributorIds] });
    if (filter.kind) qb.andWhere('a.kind = :kind', { kind: filter.kind });
    if (filter.outcome) {
      if (!(DECISION_OUTCOMES as readonly string[]).includes(filter.outcome)) {
        throw new InvalidInputError('INVALID_OUTCOME', 'unknown outcome', 'filter.outcome');
      }
      qb.andWhere('a.outcome = :outcome', { outcome: filter.outcome });
    }
    if (filter.distributorId) qb.andWhere('a.distributor_id = :dist', { dist: filter.distributorId });
    if (filter.unrouted) qb.andWhere('a.distributor_id IS NULL');
    if (filter.deviceGuid)
      qb.andWhere('a.device_guid = :dev', { dev: parseEui64(filter.deviceGuid, 'filter.deviceGuid') });
    if (filter.receivedFrom) qb.andWhere('a.received_at >= :from', { from: filter.receivedFrom });
    if (filter.receivedTo) qb.andWhere('a.received_at < :to', { to: filter.receivedTo });
    return keysetPage(qb, {
      keys: [
        { sql: 'a.received_at', cast: 'timestamptz', shape: CURSOR_PART.instant },
        { sql: 'a.id', cast: 'bigint', shape: CURSOR_PART.bigint },
      ],
      direction,
      defaultDirection: 'DESC',
      first,
      after,
      cursorOf: (a) => [a.receivedAt.toISOString(), a.id],
    });
  }

  /** One alert the caller may see, or null. */
  async byId(principal: Principal, id: string): Promise<AlertEntity | null> {
    const user = requireRole(principal, 'OPERATOR', 'ED');
    if (!/^[0-9]{1,18}$/.test(id)) throw new InvalidInputError('INVALID_ID', 'id is not an alert ID', 'id');
    const alert = await this.dataSource.getRepository(AlertEntity).findOneBy({ id });
    return alert && mayRead(user, alert) ? alert : null;
  }

  /**
   * Why an alert was decided as it was, in words: the engine's account of its current decision,
   * from the evidence recorded then, and its history. The activation that decision used is shown
   * twice, labelled: as it was at decision time (the evidence) and as it is now (its row), since
   * an outcome or a cancellation may have come since. Its supplier's claims about it, if any,
   * follow, marked as claims: the decision never used them. Null when the caller may not see the alert.
   */
  async explain(principal: Principal, id: string): Promise<{ alert: AlertEntity; lines: string[] } | null> {
    const alert = await this.byId(principal, id);
    if (!alert) return null;
    const [ledger] = await this.ledgers([alert.id]);
    const stored = ledger.at(-1);
    if (!stored) return { alert, lines: ['No decision has been recorded yet.'] };
    const [latest] = await this.forReader(principal, [stored]);
    if (alert.kind !== 'AD1') {
      const restore = decodeRestoreDecision(latest.decision) as RestoreDecisionView;
      return { alert, lines: [...explainRestoreDecision(restore), ...history(ledger)] };
    }
    const decision = decodeAlertDecision(latest.decision) as unknown as DecisionForReader;
    const lines = explainAlertDecision(decision);
    const then = decision.evidence.activation;
    const storedId = decodeAlertDecision(stored.decision).evidence.activation?.id;
    if (then?.id === null && storedId) {
      // Another network operator's meter: its status now, no name, no claims of its supplier.
      const now = await this.dataSource.getRepository(FirmwareActivationEntity).findOneBy({ id: storedId });
      if (now) lines.push(`${activationName(null)} now: ${describeActivation(nowOf(now))}.`);
    } else if (then?.id) {
      const now = await this.dataSource.getRepository(FirmwareActivationEntity).findOneBy({ id: then.id });
      const labelled = [
        `Activation ${then.requestId} at decision time (${latest.decidedAt.toISOString()}): ${describeActivation(then)}.`,
        now
          ? `Activation ${then.requestId} now: ${describeActivation(nowOf(now))}.`
          : `Activation ${then.requestId} now: no longer on record.`,
      ];
      // The engine's own line describes the activation as recorded, without saying when: the
      // labelled pair takes its place.
      const unlabelled = lines.findIndex((l) => l.startsWith(`Activation ${then.requestId} is `));
      if (unlabelled >= 0) lines.splice(unlabelled, 1, ...labelled);
      else lines.push(...labelled);
      const claims = await this.dataSource
        .getRepository(ActivationOutcomeClaimEntity)
        .find({ where: { activationId: then.id }, order: { receivedAt: 'ASC', id: 'ASC' } });
      lines.push(...claims.map((c) => describeClaim(c, now)));
    }
    return { alert, lines: [...lines, ...history(ledger)] };
  }

  /** Ledger entries of each alert, oldest first (for loaders under a checked parent). */
  async ledgers(alertIds: readonly string[]): Promise<AlertDecisionEntity[][]> {
    const rows = await this.dataSource
      .getRepository(AlertDecisionEntity)
      .createQueryBuilder('d')
      .where('d.alert_id = ANY(:ids::bigint[])', { ids: [...alertIds] })
      .orderBy('d.revision', 'ASC')
      .getMany();
    return alertIds.map((id) => rows.filter((r) => r.alertId === id));
  }

  /**
   * The current rows of alerts, unscoped: for readers that check access themselves (the DNO
   * streams, through the loaders). Alerts not on record are left out.
   */
  async now(ids: readonly string[]): Promise<Map<string, AlertNow>> {
    const rows = await this.dataSource
      .getRepository(AlertEntity)
      .createQueryBuilder('a')
      .where('a.id = ANY(:ids::bigint[])', { ids: [...ids] })
      .getMany();
    return new Map(rows.map((alert) => [alert.id, { alert }]));
  }

  /** The ledger entry of each alert's current revision (for loaders under a checked parent). */
  async currentDecisions(alerts: readonly AlertEntity[]): Promise<(AlertDecisionEntity | null)[]> {
    const decisions = await this.decisionsAt(
      alerts.filter((a) => a.revision > 0).map((a) => [a.id, a.revision]),
    );
    return alerts.map((a) => decisions.get(a.id) ?? null);
  }

  private async decisionsAt(
    revisions: readonly (readonly [string, number])[],
  ): Promise<Map<string, AlertDecisionEntity>> {
    if (revisions.length === 0) return new Map();
    const rows = await this.dataSource
      .getRepository(AlertDecisionEntity)
      .createQueryBuilder('d')
      .where('(d.alert_id, d.revision) IN (SELECT * FROM unnest(:ids::bigint[], :revisions::int[]))', {
        ids: revisions.map(([id]) => id),
        revisions: revisions.map(([, revision]) => revision),
      })
      .getMany();
    return new Map(rows.map((r) => [r.alertId, r]));
  }

  async byIds(ids: readonly string[]): Promise<(AlertEntity | undefined)[]> {
    const rows = await this.dataSource
      .getRepository(AlertEntity)
      .createQueryBuilder('a')
      .where('a.id = ANY(:ids::bigint[])', { ids: [...ids] })
      .getMany();
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }

  /** Current outcomes of the AD1s received in [from, to), by distributor, outcome and reason. */
  async suppressionStats(principal: Principal, from: Date, to: Date): Promise<SuppressionStat[]> {
    const user = requireRole(principal, 'OPERATOR', 'ED');
    if (!(from.getTime() < to.getTime()))
      throw new InvalidInputError('INVALID_TIME_RANGE', 'from must be before to', 'to');
    const rows = (await this.dataSource.query(
      `SELECT distributor_id, outcome, reason, count(*)::int AS count FROM alert
        WHERE kind = 'AD1' AND received_at >= $1 AND received_at < $2 AND outcome IS NOT NULL
          AND ($3::bpchar[] IS NULL OR distributor_id = ANY($3))
        GROUP BY 1, 2, 3 ORDER BY 1 NULLS LAST, 2, 3`,
      [from, to, user.role === 'ED' ? [...user.distributorIds] : null],
    )) as { distributor_id: string | null; outcome: DecisionOutcome; reason: string; count: number }[];
    return rows.map((r) => ({
      distributorId: r.distributor_id,
      outcome: r.outcome,
      reason: r.reason,
      count: r.count,
    }));
  }
}

/** The ledger in one line, when the alert has been decided more than once. */
function history(ledger: readonly AlertDecisionEntity[]): string[] {
  if (ledger.length < 2) return [];
  return [
    `History: ${ledger.map((d) => `${d.outcome} [${d.reason}] at ${d.decidedAt.toISOString()}`).join(' -> ')}.`,
  ];
}

function nowOf(now: FirmwareActivationEntity) {
  return {
    status: now.status,
    outcomeCode: now.outcomeCode,
    requestedAt: now.requestedAt.toISOString(),
    actualExecutedAt: now.actualExecutedAt?.toISOString() ?? null,
  };
}

function describeActivation(a: {
  status: string;
  outcomeCode: string | null;
  requestedAt: string;
  actualExecutedAt: string | null;
}): string {
  return (
    `${a.status}${a.outcomeCode ? ` (${a.outcomeCode})` : ''}, requested for ${a.requestedAt}` +
    (a.actualExecutedAt ? `, executed at ${a.actualExecutedAt}` : ', execution time not known')
  );
}

/**
 * A supplier's claim about the activation, shown so that a reader sees what was said and that no
 * decision used it; where DCC's outcome is known and says otherwise, that is said too.
 */
function describeClaim(claim: ActivationOutcomeClaimEntity, now: FirmwareActivationEntity | null): string {
  const said = `${claim.outcomeCode} at ${claim.executedAt.toISOString()}`;
  const dcc =
    now?.outcomeCode && now.actualExecutedAt
      ? `${now.outcomeCode} at ${now.actualExecutedAt.toISOString()}`
      : null;
  return (
    `Its supplier claims ${said} (received ${claim.receivedAt.toISOString()}): a claim, not evidence, so no decision uses it` +
    (dcc && dcc !== said ? `; DCC's outcome says ${dcc}.` : '.')
  );
}

function mayRead(user: User, alert: AlertEntity): boolean {
  return mayReadAlert(user, alert);
}
