/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** Power Outage Alert (AD1) or supply restored. */
export type AlertKind =
  | 'AD1'
  | 'SUPPLY_RESTORED';

/** Outcome of the decision on an alert. */
export type DecisionOutcome =
  | 'DELIVERED'
  | 'HELD'
  | 'PAIRED'
  | 'RELEASED'
  | 'SUPPRESSED';

/** Kind of message on a DNO stream. */
export type DnoAlertKind =
  | 'AD1'
  | 'OTA_INDUCED'
  | 'RECLASSIFIED'
  | 'RELEASED_AD1'
  | 'SUPPLY_RESTORED'
  | 'WITHDRAWN';

export type AcknowledgeDnoAlertsMutationVariables = Exact<{
  upTo: string;
}>;


export type AcknowledgeDnoAlertsMutation = { acknowledgeDnoAlerts: { acknowledgedSequence: string } };

export type DnoAlertsSubscriptionVariables = Exact<{
  after?: string | null | undefined;
}>;


export type DnoAlertsSubscription = { dnoAlerts: { distributorId: string, sequence: string, kind: DnoAlertKind, alert: { id: string, kind: AlertKind, raisedByGuid: string, mpan: string | null, eventAt: string, restoredAt: string | null, outcome: DecisionOutcome | null }, decision: { ledgerRevision: number, outcome: DecisionOutcome, reasonCode: string, reasonText: string, late: boolean, decidedAt: string }, pairedWith: { id: string } | null } };


export const AcknowledgeDnoAlertsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"AcknowledgeDnoAlerts"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"upTo"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"acknowledgeDnoAlerts"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"upTo"},"value":{"kind":"Variable","name":{"kind":"Name","value":"upTo"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"acknowledgedSequence"}}]}}]}}]} as unknown as DocumentNode<AcknowledgeDnoAlertsMutation, AcknowledgeDnoAlertsMutationVariables>;
export const DnoAlertsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DnoAlerts"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dnoAlerts"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"distributorId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"alert"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"raisedByGuid"}},{"kind":"Field","name":{"kind":"Name","value":"mpan"}},{"kind":"Field","name":{"kind":"Name","value":"eventAt"}},{"kind":"Field","name":{"kind":"Name","value":"restoredAt"}},{"kind":"Field","name":{"kind":"Name","value":"outcome"}}]}},{"kind":"Field","name":{"kind":"Name","value":"decision"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"ledgerRevision"}},{"kind":"Field","name":{"kind":"Name","value":"outcome"}},{"kind":"Field","name":{"kind":"Name","value":"reasonCode"}},{"kind":"Field","name":{"kind":"Name","value":"reasonText"}},{"kind":"Field","name":{"kind":"Name","value":"late"}},{"kind":"Field","name":{"kind":"Name","value":"decidedAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"pairedWith"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}}]} as unknown as DocumentNode<DnoAlertsSubscription, DnoAlertsSubscriptionVariables>;