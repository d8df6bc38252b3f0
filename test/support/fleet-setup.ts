import crypto from 'node:crypto';
import type { TestApp } from './app';
import { ok } from './integration';

/**
 * The inventory the decision tests share, set up through the public API as an operator would:
 * premises (an ESME and its hub, linked), and an affected firmware rule with its new image.
 */

/** One premises: an ESME on `model` and the hub it is linked to, in one area. */
export interface TestPremises {
  readonly esme: string;
  readonly ch: string;
  readonly mpan: string;
  readonly area: string;
  /** The ESME's model; the fleet's default when absent. */
  readonly model?: string;
}

export interface FleetDefaults {
  readonly supplierId: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly firmwareVersion: string;
  /** When the ESMEs got their firmware and were linked to their hubs. */
  readonly since: string;
}

/**
 * A fleet on an affected model (AB01 010A030B at 0002012F since 2026-01-01, import supplier
 * 90-B3-D5-1F-30-01-00-00) and the image that moves it to 00020130: the usual fixture of tests
 * whose subject is not the fleet itself.
 */
export const AFFECTED_FLEET: FleetDefaults = {
  supplierId: '90-B3-D5-1F-30-01-00-00',
  manufacturer: 'AB01',
  model: '010A030B',
  firmwareVersion: '0002012F',
  since: '2026-01-01T00:00:00Z',
};
export const AFFECTED_IMAGE = {
  version: '00020130',
  imageHash: crypto.createHash('sha256').update('AB01/010A030B/00020130').digest('hex'),
} as const;

/** Upserts the ESMEs and hubs, and links each hub to its ESME. */
export async function installPremises(
  t: TestApp,
  operator: string,
  fleet: FleetDefaults,
  premises: readonly TestPremises[],
): Promise<void> {
  const devices = premises.flatMap((p) => [
    {
      guid: p.esme,
      deviceType: 'ESME',
      importSupplierId: fleet.supplierId,
      manufacturer: fleet.manufacturer,
      model: p.model ?? fleet.model,
      firmwareVersion: fleet.firmwareVersion,
      firmwareEffectiveFrom: fleet.since,
      mpan: p.mpan,
      areaKey: p.area,
    },
    {
      guid: p.ch,
      deviceType: 'CHF',
      manufacturer: fleet.manufacturer,
      model: '0C0C0C0C',
      firmwareVersion: '00010001',
      firmwareEffectiveFrom: fleet.since,
      areaKey: p.area,
    },
  ]);
  const upsert = `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`;
  ok((await t.gql(upsert, { d: devices }, operator)).body);
  const links = premises
    .map(
      (p, i) =>
        `l${i}: linkCommsHub(commsHubGuid: "${p.ch}", esmeGuid: "${p.esme}", effectiveFrom: "${fleet.since}") { esmeGuid }`,
    )
    .join('\n');
  ok((await t.gql(`mutation { ${links} }`, {}, operator)).body);
}

/** Registers the new image and a rule naming the fleet's model and firmware version as affected. */
export async function installAffectedRule(
  t: TestApp,
  operator: string,
  fleet: FleetDefaults,
  image: { readonly version: string; readonly imageHash: string },
  rule: { readonly name: string; readonly maxCommsHubOffMinutes?: number },
): Promise<void> {
  const { manufacturer, model } = fleet;
  ok(
    (
      await t.gql(
        `mutation ($i: FirmwareImageInput!) { registerFirmwareImage(image: $i) { id } }`,
        { i: { manufacturer, model, ...image } },
        operator,
      )
    ).body,
  );
  ok(
    (
      await t.gql(
        `mutation ($r: AffectedFirmwareRuleInput!) { upsertAffectedFirmwareRule(rule: $r) { id } }`,
        { r: { ...rule, manufacturer, model, affectedFirmwareVersions: [fleet.firmwareVersion] } },
        operator,
      )
    ).body,
  );
}
