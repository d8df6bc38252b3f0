import { registerEnumType } from 'type-graphql';
import { DNO_MESSAGE_KINDS } from '../domain/delivery';
import {
  ACTIVATION_OUTCOME_CODES,
  ACTIVATION_STATUSES,
  DECISION_OUTCOMES,
  DELIVERY_PREFERENCES,
  DEVICE_TYPES,
  SMI_STATUSES,
} from '../domain/model';
import { ALERT_ROUTINGS } from '../domain/routing';

/** GraphQL enums built from the domain's closed sets, so the two can never drift apart. */
function enumFrom<const T extends readonly string[]>(values: T): { [K in T[number]]: K } {
  return Object.fromEntries(values.map((v) => [v, v])) as { [K in T[number]]: K };
}

export const DeviceTypeEnum = enumFrom(DEVICE_TYPES);
registerEnumType(DeviceTypeEnum, { name: 'DeviceType', description: 'DUIS device type.' });

export const SmiStatusEnum = enumFrom(SMI_STATUSES);
registerEnumType(SmiStatusEnum, {
  name: 'SmiStatus',
  description: 'SMI status of a device in the DSP inventory.',
});

export const ActivationStatusEnum = enumFrom(ACTIVATION_STATUSES);
registerEnumType(ActivationStatusEnum, {
  name: 'ActivationStatus',
  description: 'Lifecycle status of an SR11.3 activation.',
});

export const ActivationOutcomeCodeEnum = enumFrom(ACTIVATION_OUTCOME_CODES);
registerEnumType(ActivationOutcomeCodeEnum, {
  name: 'ActivationOutcomeCode',
  description: 'GBCS ActivateImageResponseCode of an activation outcome.',
});

export const RuleDeviceTypeEnum = enumFrom(['ESME', 'CHF'] as const);
registerEnumType(RuleDeviceTypeEnum, {
  name: 'RuleDeviceType',
  description: 'Which device’s activation a rule covers.',
});

export const DecisionOutcomeEnum = enumFrom(DECISION_OUTCOMES);
registerEnumType(DecisionOutcomeEnum, {
  name: 'DecisionOutcome',
  description: 'Outcome of the decision on an alert.',
});

export const AlertKindEnum = enumFrom(['AD1', 'SUPPLY_RESTORED'] as const);
registerEnumType(AlertKindEnum, {
  name: 'AlertKind',
  description: 'Power Outage Alert (AD1) or supply restored.',
});

export const IngestKindEnum = enumFrom([
  'AD1',
  'SUPPLY_RESTORED',
  'ACTIVATION_OUTCOME',
  'CH_FIRMWARE_ACTIVATION',
] as const);
registerEnumType(IngestKindEnum, { name: 'IngestKind', description: 'What an ingested message was.' });

export const DnoAlertKindEnum = enumFrom(DNO_MESSAGE_KINDS);
registerEnumType(DnoAlertKindEnum, { name: 'DnoAlertKind', description: 'Kind of message on a DNO stream.' });

export const DeliveryPreferenceEnum = enumFrom(DELIVERY_PREFERENCES);
registerEnumType(DeliveryPreferenceEnum, {
  name: 'DeliveryPreference',
  description:
    'FILTER: OTA-induced AD1s are not sent (default). PAIR: sent with an OTA_INDUCED companion. ANNOTATE: sent ' +
    'carrying their classification. RAW: everything at once, no filtering (decisions still recorded).',
});

export const AlertRoutingEnum = enumFrom(ALERT_ROUTINGS);
registerEnumType(AlertRoutingEnum, {
  name: 'AlertRouting',
  description:
    'How an alert found its network operator: MPAN (its own), COMMS_HUB_LINK (its MPAN could not say; the ESME powering the hub at the outage start has a valid MPAN) or MPAN_PREFIX (a bad check digit, but the distributor prefix is a known operator).',
});
