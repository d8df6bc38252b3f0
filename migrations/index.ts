import { NetworkOperators1763700000000 } from './1763700000000-NetworkOperators';
import { Inventory1763700100000 } from './1763700100000-Inventory';
import { Alerts1763700200000 } from './1763700200000-Alerts';
import { Delivery1763700300000 } from './1763700300000-Delivery';
import { MonthlyPartitions1763700400000 } from './1763700400000-MonthlyPartitions';
import { SafetyBudgetCounters1763700500000 } from './1763700500000-SafetyBudgetCounters';
import { ActiveVerification1763700700000 } from './1763700700000-ActiveVerification';
import { AlertRouting1763700800000 } from './1763700800000-AlertRouting';
import { ActivationCancelRequests1763700810000 } from './1763700810000-ActivationCancelRequests';
import { RateLimits1763700820000 } from './1763700820000-RateLimits';
import { RegisteredSuppliers1763700830000 } from './1763700830000-RegisteredSuppliers';
import { ShardedBudgetCounters1763700840000 } from './1763700840000-ShardedBudgetCounters';
import { WithheldAlertsByArea1763700850000 } from './1763700850000-WithheldAlertsByArea';
import { CorrectionMessages1763700860000 } from './1763700860000-CorrectionMessages';
import { HeldSweepIndex1763700870000 } from './1763700870000-HeldSweepIndex';
import { ActivationOutcomeClaims1763700880000 } from './1763700880000-ActivationOutcomeClaims';
import { TraceParents1763700890000 } from './1763700890000-TraceParents';

/** Every migration, in order. Listed explicitly so source and compiled builds load the same set. */
export const MIGRATIONS = [
  NetworkOperators1763700000000,
  Inventory1763700100000,
  Alerts1763700200000,
  Delivery1763700300000,
  MonthlyPartitions1763700400000,
  SafetyBudgetCounters1763700500000,
  ActiveVerification1763700700000,
  AlertRouting1763700800000,
  ActivationCancelRequests1763700810000,
  RateLimits1763700820000,
  RegisteredSuppliers1763700830000,
  ShardedBudgetCounters1763700840000,
  WithheldAlertsByArea1763700850000,
  CorrectionMessages1763700860000,
  HeldSweepIndex1763700870000,
  ActivationOutcomeClaims1763700880000,
  TraceParents1763700890000,
];
