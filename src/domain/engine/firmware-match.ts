/**
 * Does an affected-firmware rule cover an activation? The firmware the device ran before it must
 * be one the rule lists, and a rule that names a target version or image matches only an
 * activation known to go to it.
 */
import type { FirmwareEvidence } from './decision';
import type { AffectedFirmwareRuleFact, FirmwareActivationFact } from './facts';
import { sameCode } from './time';

export type FirmwareMatch = 'MATCH' | 'UNKNOWN_FIRMWARE_VERSION' | 'FIRMWARE_NOT_AFFECTED';

/**
 * Whether a rule covers an activation from a known pre-activation firmware version: the same test
 * the engine applies, for callers (scheduling) that want the window an activation implies.
 */
export function ruleCoversActivation(
  rule: AffectedFirmwareRuleFact,
  activation: Pick<FirmwareActivationFact, 'targetFirmwareVersion' | 'imageHash'>,
  versionBefore: string | null,
): boolean {
  if (!rule.enabled || versionBefore === null) return false;
  const firmware: FirmwareEvidence = { versionBefore, source: 'ACTIVATION' };
  return matchFirmware(rule, activation as FirmwareActivationFact, firmware) === 'MATCH';
}

export function matchFirmware(
  rule: AffectedFirmwareRuleFact,
  activation: FirmwareActivationFact,
  firmware: FirmwareEvidence | null,
): FirmwareMatch {
  if (firmware === null) return 'UNKNOWN_FIRMWARE_VERSION';
  if (!rule.affectedFirmwareVersions.some((v) => sameCode(v, firmware.versionBefore))) {
    return 'FIRMWARE_NOT_AFFECTED';
  }
  // A rule that names a target can only match an activation known to go to that target.
  if (rule.targetFirmwareVersion) {
    if (!activation.targetFirmwareVersion) return 'UNKNOWN_FIRMWARE_VERSION';
    if (!sameCode(rule.targetFirmwareVersion, activation.targetFirmwareVersion))
      return 'FIRMWARE_NOT_AFFECTED';
  }
  if (rule.targetImageHash) {
    if (!activation.imageHash) return 'UNKNOWN_FIRMWARE_VERSION';
    if (!sameCode(rule.targetImageHash, activation.imageHash)) return 'FIRMWARE_NOT_AFFECTED';
  }
  return 'MATCH';
}
