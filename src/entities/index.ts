import { AlertDecisionEntity, AlertEntity } from './alert.entity';
import { CommsHubLinkEntity, DeviceEntity, DeviceFirmwareEntity } from './device.entity';
import {
  ActivationOutcomeClaimEntity,
  AffectedFirmwareRuleChangeEntity,
  AffectedFirmwareRuleEntity,
  FirmwareActivationEntity,
  FirmwareImageEntity,
} from './firmware.entity';
import { NetworkOperatorEntity } from './network-operator.entity';

export {
  ActivationOutcomeClaimEntity,
  AlertDecisionEntity,
  AlertEntity,
  AffectedFirmwareRuleChangeEntity,
  AffectedFirmwareRuleEntity,
  CommsHubLinkEntity,
  DeviceEntity,
  DeviceFirmwareEntity,
  FirmwareActivationEntity,
  FirmwareImageEntity,
  NetworkOperatorEntity,
};

/** Every entity the data source maps. */
export const ENTITIES = [
  NetworkOperatorEntity,
  DeviceEntity,
  DeviceFirmwareEntity,
  CommsHubLinkEntity,
  FirmwareImageEntity,
  AffectedFirmwareRuleEntity,
  AffectedFirmwareRuleChangeEntity,
  FirmwareActivationEntity,
  ActivationOutcomeClaimEntity,
  AlertEntity,
  AlertDecisionEntity,
];
