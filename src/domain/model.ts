/**
 * The shared vocabulary of the domain: closed sets of codes used by the engine, the services and
 * the GraphQL schema alike. Each is a readonly tuple so the schema can build its enums from it.
 */

/** DUIS `DeviceType`. The device type cannot be derived from the GUID; it comes from the inventory. */
export const DEVICE_TYPES = ['ESME', 'GSME', 'CHF', 'GPF', 'PPMID', 'IHD', 'HCALCS', 'CAD'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** DUIS SMI status of a device in the DSP inventory. */
export const SMI_STATUSES = [
  'Pending',
  'Whitelisted',
  'InstalledNotCommissioned',
  'Commissioned',
  'Decommissioned',
  'Withdrawn',
  'Suspended',
  'Recovery',
  'Recovered',
] as const;
export type SmiStatus = (typeof SMI_STATUSES)[number];

/** Lifecycle of one SR11.3 Activate Firmware request. */
export const ACTIVATION_STATUSES = [
  'SCHEDULED',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'SUPERSEDED',
  'OUTCOME_UNKNOWN',
] as const;
export type ActivationStatus = (typeof ACTIVATION_STATUSES)[number];

/** GBCS `ActivateImageResponseCode` of an immediate response or a 0x8F66/0x8F67 alert. */
export const ACTIVATION_OUTCOME_CODES = [
  'success',
  'noImageHeld',
  'hashMismatch',
  'activationFailure',
] as const;
export type ActivationOutcomeCode = (typeof ACTIVATION_OUTCOME_CODES)[number];

/** Outcome of the decision on one AD1. */
export const DECISION_OUTCOMES = ['DELIVERED', 'HELD', 'SUPPRESSED', 'PAIRED', 'RELEASED'] as const;
export type DecisionOutcome = (typeof DECISION_OUTCOMES)[number];

/** How a network operator wants OTA-induced AD1s delivered. */
export const DELIVERY_PREFERENCES = ['FILTER', 'PAIR', 'ANNOTATE', 'RAW'] as const;
export type DeliveryPreference = (typeof DELIVERY_PREFERENCES)[number];

/** Roles a principal can hold: DUIS user roles that use this service, plus the DSP operator. */
export const ROLES = ['ED', 'IS', 'GS', 'OPERATOR'] as const;
export type Role = (typeof ROLES)[number];

/** DUIS ExecutionDateTime that means "cancel the pending activation" rather than a real time. */
export const CANCELLATION_SENTINEL = new Date('3000-12-31T00:00:00Z');
