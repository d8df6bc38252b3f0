import type { AlertDecision, SupplyRestoredDecision } from '../../domain/engine';
import type { DecisionOutcome, DeliveryPreference } from '../../domain/model';
import type { AlertEntity } from '../../entities';

/** What made a decision: ingest of a new alert, a later fact (EVIDENCE), or its timer. */
export type DecisionTrigger = 'INGEST' | 'EVIDENCE' | 'TIMER';

/** One change of an alert's decision, as appended to the ledger in the caller's transaction. */
export interface DecisionChange {
  readonly alert: AlertEntity;
  readonly revision: number;
  readonly previousOutcome: DecisionOutcome | null;
  readonly outcome: DecisionOutcome;
  readonly reason: string;
  readonly late: boolean;
  /** The engine's decision (AD1) or restore decision, as stored in the ledger. */
  readonly decision: AlertDecision | SupplyRestoredDecision;
  /** The alert's timer after this change (null: decided for good). */
  readonly dueAt: Date | null;
  /** The DNO's delivery preference the decision was made under (AD1s: read with their facts). */
  readonly preference?: DeliveryPreference;
  /** What made it (for its trace span; the ledger has it too). */
  readonly trigger?: DecisionTrigger;
}
