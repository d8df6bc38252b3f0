/**
 * The decision engine: a pure function of (facts, settings, now) -> decisions. The service
 * layer loads the facts, calls {@link decidePowerOutageAlert} (and, for restoration alerts,
 * {@link pairSupplyRestoredAlert} then {@link decideSupplyRestoredAlert}), and persists the
 * result with its outbox entry. See docs/ENGINE.md.
 */
export type {
  AffectedFirmwareRuleFact,
  CommsHubAlertFact,
  CommsHubAssociationFact,
  DeviceFact,
  FirmwareActivationFact,
  FirmwareVersionFact,
  NeighbourOutageAlertFact,
  OutageAreaFacts,
  PowerOutageAlertFact,
  PowerOutageAlertFacts,
  SafetyBudgetCounters,
  SupplyRestoredAlertCode,
  SupplyRestoredAlertFact,
  VerificationFact,
  VerificationStatus,
} from './facts';
export { SUPPLY_RESTORED_ALERT_CODES } from './facts';
export type {
  BudgetShareExempt,
  EngineSettings,
  SafetyBudgetSettings,
  VerificationSettings,
} from './settings';
export {
  BUDGET_SHARE_EXEMPTIONS,
  DEFAULT_ENGINE_SETTINGS,
  deviceTimeAllowanceMinutes,
  validateEngineSettings,
} from './settings';
export type {
  ActivationEvidence,
  AlertDecision,
  BudgetEvidence,
  BudgetScopeEvidence,
  ClusterEvidence,
  DecisionEvidence,
  DecisionReason,
  DeviceEvidence,
  FirmwareEvidence,
  PathOutcome,
  TimelineEvidence,
  VerificationEvidence,
  WindowEvidence,
} from './decision';
export { DECISION_REASONS, isWithheld, nextEvaluationAt, sameDecision } from './decision';
export { decidePowerOutageAlert, enforceHoldCeiling } from './decide';
export type { Candidate, Identification } from './candidate';
export { activationWindow, associationsAt, identify } from './candidate';
export { ruleCoversActivation } from './firmware-match';
export { dnoBudgetState, isSupplyRestoredCode, restoreOverlapsOutage } from './evidence';
export type { OutageAlertWithDecision, RestoreDecisionReason, SupplyRestoredDecision } from './restore';
export { RESTORE_DECISION_REASONS, decideSupplyRestoredAlert, pairSupplyRestoredAlert } from './restore';
export type { DecisionForReader } from './explain';
export { REASON_TEXT, activationName, explainAlertDecision, explainRestoreDecision } from './explain';
export type { EvidenceSight, EvidenceView, RestoreDecisionView } from './evidence-view';
export { evidenceNames, viewEvidence, viewRestoreDecision } from './evidence-view';
