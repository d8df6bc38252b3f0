import crypto from 'node:crypto';
import { guid, mpan } from '../../support/integration';
import { ResilientConsumer } from '../../support/consumer';
import { gqlOk, token } from './api';

/**
 * A small fleet and an endless, deterministic stream of alerts for it, so a load client can
 * send alert number i again (a retry) and get the same natural key.
 *
 * Premises are ESME + CH pairs, each in an area of its own (no accidental clusters). "Affected"
 * ESMEs are on the model and firmware a rule covers and had an SR11.3 executed at seeding time,
 * so their hubs' AD1s fall in a window and are HELD, then SUPPRESSED by the timer; some of them
 * get an overlapping supply-restored alert later in the stream, which releases them (RELEASED,
 * late or not). Plain premises and hubs the inventory does not know give DELIVERED AD1s.
 */

export const SUPPLIER = '90-B3-D5-1F-30-01-00-00';
const AFFECTED_MODEL = '010A030B';
const PLAIN_MODEL = '0F0F0F0F';
const IMAGE_HASH = crypto.createHash('sha256').update('AB01/010A030B/00020130').digest('hex');
const LINKED_FROM = '2026-01-01T00:00:00Z';

/**
 * The engine settings the fault tests run with: short holds (HOLD_MINUTES may be fractional),
 * no skew (a restore then overlaps only the AD1 it names), and a safety budget that never runs out.
 */
export const FAULT_ENGINE_ENV: Record<string, string> = {
  HOLD_MINUTES: '0.1',
  SKEW_MINUTES: '0',
  SCHEDULER_POLL_MS: '200',
  BUDGET_MAX_PER_DNO: '1000000',
  BUDGET_MAX_PER_AREA: '1000000',
  BUDGET_MAX_SHARE: '1',
  RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
};

export interface Premises {
  readonly n: number;
  readonly esme: string;
  readonly ch: string;
  readonly mpan: string;
  readonly area: string;
  readonly distributorId: string;
  readonly affected: boolean;
}

export interface Fleet {
  readonly affected: readonly Premises[];
  readonly plain: readonly Premises[];
  readonly distributors: readonly string[];
}

/** `prefix` is two hex digits that keep this fleet's device GUIDs apart from any other's. */
export function makeFleet(
  prefix: string,
  counts: { affected: number; plain: number },
  distributors: readonly string[],
): Fleet {
  const make = (n: number, affected: boolean): Premises => {
    const distributorId = distributors[n % distributors.length];
    return {
      n,
      esme: guid(`${prefix}-00-00-00-00-01`, n),
      ch: guid(`${prefix}-00-00-00-00-02`, n),
      mpan: mpan(distributorId, 100_000 + n),
      area: `FAULT-${prefix}-${n}`,
      distributorId,
      affected,
    };
  };
  const affected = Array.from({ length: counts.affected }, (_, i) => make(i + 1, true));
  const plain = Array.from({ length: counts.plain }, (_, i) => make(counts.affected + i + 1, false));
  return { affected, plain, distributors };
}

/**
 * Loads the fleet through the API: devices, links, the fixed image, the rule, and an executed
 * activation (success, by DCC's 0x8F66) for every affected ESME. Returns the execution time: affected AD1s start after it.
 * Affected ESMEs that `confirmed` leaves out get the activation without its outcome: their AD1s
 * wait for the hub to be back and then ask the meter (a verification request).
 */
export async function seedFleet(
  baseUrl: string,
  fleet: Fleet,
  tokens: { operator: string; supplier: string },
  confirmed: (p: Premises) => boolean = () => true,
): Promise<Date> {
  const all = [...fleet.affected, ...fleet.plain];
  const devices = all.flatMap((p) => [
    {
      guid: p.esme,
      deviceType: 'ESME',
      importSupplierId: SUPPLIER,
      manufacturer: 'AB01',
      model: p.affected ? AFFECTED_MODEL : PLAIN_MODEL,
      firmwareVersion: '0002012F',
      firmwareEffectiveFrom: LINKED_FROM,
      mpan: p.mpan,
      areaKey: p.area,
    },
    {
      guid: p.ch,
      deviceType: 'CHF',
      manufacturer: 'AB01',
      model: '0C0C0C0C',
      firmwareVersion: '00010001',
      firmwareEffectiveFrom: LINKED_FROM,
      areaKey: p.area,
    },
  ]);
  const op = tokens.operator;
  await gqlOk(
    baseUrl,
    `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`,
    { d: devices },
    op,
  );
  const links = all.map(
    (p, i) =>
      `l${i}: linkCommsHub(commsHubGuid: "${p.ch}", esmeGuid: "${p.esme}", effectiveFrom: "${LINKED_FROM}") { esmeGuid }`,
  );
  await gqlOk(baseUrl, `mutation { ${links.join('\n')} }`, {}, op);
  await gqlOk(
    baseUrl,
    `mutation ($i: FirmwareImageInput!) { registerFirmwareImage(image: $i) { id } }`,
    { i: { manufacturer: 'AB01', model: AFFECTED_MODEL, version: '00020130', imageHash: IMAGE_HASH } },
    op,
  );
  await gqlOk(
    baseUrl,
    `mutation ($r: AffectedFirmwareRuleInput!) { upsertAffectedFirmwareRule(rule: $r) { id } }`,
    {
      r: {
        name: 'fault tests',
        manufacturer: 'AB01',
        model: AFFECTED_MODEL,
        affectedFirmwareVersions: ['0002012F'],
        windowMinutes: 30,
        skewMinutes: 2,
      },
    },
    op,
  );
  const requests = fleet.affected.map((p) => `${SUPPLIER}:${p.esme}:1`);
  const schedule = fleet.affected.map(
    (p, i) =>
      `a${i}: scheduleFirmwareActivation(activation: { requestId: "${requests[i]}", esmeGuid: "${p.esme}", imageHash: "${IMAGE_HASH}" }) { id }`,
  );
  if (schedule.length) await gqlOk(baseUrl, `mutation { ${schedule.join('\n')} }`, {}, tokens.supplier);
  const executedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
  // DCC's 0x8F66 for each, as the operator ingests it: the evidence that they ran.
  const outcomes = fleet.affected.flatMap((p, i) =>
    confirmed(p)
      ? [
          {
            activationOutcome: {
              esmeGuid: p.esme,
              alertCode: '8F66',
              requestId: requests[i],
              outcomeCode: 'success',
              executedAt: executedAt.toISOString(),
              firmwareVersion: '00020130',
            },
          },
        ]
      : [],
  );
  if (outcomes.length) {
    await gqlOk(
      baseUrl,
      `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { activationId } }`,
      { a: outcomes },
      op,
    );
  }
  return executedAt;
}

/** One alert of the stream: its GraphQL input and the key that makes a retry idempotent. */
export interface StreamAlert {
  readonly index: number;
  readonly naturalKey: string;
  readonly input: Record<string, unknown>;
}

const SECOND = 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Alert i of a fleet's stream. Of every ten: four AD1s from affected hubs (held), one more that
 * a restore later in the stream releases, three from plain hubs, one from a hub nobody knows
 * (routed by its MPAN) and one restore. Each affected hub's AD1s start two seconds apart, so a restore
 * spanning one second overlaps exactly one of them (SKEW_MINUTES=0).
 */
export function streamAlert(fleet: Fleet, executedAt: Date, i: number): StreamAlert {
  const group = Math.floor(i / 10);
  const slot = i % 10;
  const t0 = executedAt.getTime();
  const affectedAd1 = (ordinal: number) => {
    const p = fleet.affected[ordinal % fleet.affected.length];
    const startAt = t0 + 2 * (1 + Math.floor(ordinal / fleet.affected.length)) * SECOND;
    return { p, startAt };
  };
  const ad1 = (ch: string, startAt: number, m: string): StreamAlert => ({
    index: i,
    naturalKey: `AD1:${ch}:${iso(startAt)}`,
    input: { powerOutage: { commsHubGuid: ch, startAt: iso(startAt), mpan: m } },
  });
  if (slot <= 4) {
    const { p, startAt } = affectedAd1(group * 5 + slot);
    return ad1(p.ch, startAt, p.mpan);
  }
  if (slot <= 7) {
    const ordinal = group * 3 + (slot - 5);
    const p = fleet.plain[ordinal % fleet.plain.length];
    // An hour before the activations: plain hubs are in no window whatever the model.
    const startAt = t0 - 3600 * SECOND + Math.floor(ordinal / fleet.plain.length) * SECOND;
    return ad1(p.ch, startAt, p.mpan);
  }
  // Slot 9 restores the slot-4 AD1 25 alerts back (still held: RELEASED) in even groups, and the
  // one 2,505 back (most likely suppressed by then: a late RELEASED_AD1) in odd groups.
  const back = group % 2 === 0 ? 25 : 2_505;
  if (slot === 8 || i < back) {
    const ordinal = group * 2 + (slot === 8 ? 0 : 1);
    const distributorId = fleet.distributors[ordinal % fleet.distributors.length];
    const ch = guid(`${prefixOf(fleet)}-00-00-00-00-0E`, ordinal % 4096);
    return ad1(
      ch,
      t0 - 7200 * SECOND + Math.floor(ordinal / 4096) * SECOND,
      mpan(distributorId, 900_000 + ordinal),
    );
  }
  // The restore of that AD1: its interruption is the AD1's start.
  const earlier = i - back;
  const { p, startAt } = affectedAd1(Math.floor(earlier / 10) * 5 + 4);
  return {
    index: i,
    naturalKey: `8F36:${p.esme}:${iso(startAt)}:${iso(startAt + SECOND)}`,
    input: {
      supplyRestored: {
        esmeGuid: p.esme,
        alertCode: '8F36',
        interruptionAt: iso(startAt),
        restorationAt: iso(startAt + SECOND),
      },
    },
  };
}

function prefixOf(fleet: Fleet): string {
  return (fleet.affected[0] ?? fleet.plain[0]).esme.slice(0, 2);
}

/**
 * The n-th AD1 of a hub nobody knows, as a DUIS document (one alert per POST /duis). Its
 * ResponseID is fixed by n, so a retried document is the same alert.
 */
export function duisAd1(fleet: Fleet, n: number): { naturalKey: string; xml: string } {
  const distributorId = fleet.distributors[n % fleet.distributors.length];
  const ch = guid(`${prefixOf(fleet)}-00-00-00-00-0D`, n % 4096);
  const startAt = iso(Date.UTC(2026, 0, 1) + Math.floor(n / 4096) * SECOND);
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">
  <sr:Header>
    <sr:ResponseID>${ch}:90-B3-D5-1F-30-02-00-00:${1_000_000 + n}</sr:ResponseID>
    <sr:ResponseCode>I0</sr:ResponseCode>
    <sr:ResponseDateTime>${startAt}</sr:ResponseDateTime>
  </sr:Header>
  <sr:Body>
    <sr:DCCAlertMessage>
      <sr:DCCAlertCode>AD1</sr:DCCAlertCode>
      <sr:DCCAlert>
        <sr:PowerOutageEvent>
          <sr:CommsHubDeviceID>${ch}</sr:CommsHubDeviceID>
          <sr:StartDateTime>${startAt}</sr:StartDateTime>
          <sr:MPxN>${mpan(distributorId, 800_000 + n)}</sr:MPxN>
        </sr:PowerOutageEvent>
      </sr:DCCAlert>
    </sr:DCCAlertMessage>
  </sr:Body>
</sr:Response>`;
  return { naturalKey: `AD1:${ch}:${startAt}`, xml };
}

/** A run's starting point: the DSP's token, a fleet seeded through the API, one reconnecting consumer per DNO. */
export interface PreparedRun {
  readonly operator: string;
  readonly fleet: Fleet;
  readonly executedAt: Date;
  readonly consumers: ResilientConsumer[];
}

/**
 * Seeds `fleet` through the server at `port` (inventory, image, rule, activations; outcomes for the
 * affected ESMEs `confirmed` keeps) and starts a
 * ResilientConsumer from sequence 0 for each of `distributors`, each with its own ED token.
 */
export async function prepareRun(
  port: number,
  fleet: Fleet,
  distributors: readonly string[],
  confirmed?: (p: Premises) => boolean,
): Promise<PreparedRun> {
  const operator = await token({ subject: 'dsp', role: 'OPERATOR' });
  const supplier = await token({ subject: 'supplier', role: 'IS', supplierId: SUPPLIER });
  const executedAt = await seedFleet(`http://127.0.0.1:${port}`, fleet, { operator, supplier }, confirmed);
  const consumers: ResilientConsumer[] = [];
  for (const distributorId of distributors) {
    const dno = await token({ subject: `dno${distributorId}`, role: 'ED', distributorIds: [distributorId] });
    const consumer = new ResilientConsumer(() => `ws://127.0.0.1:${port}/graphql`, dno, '0');
    consumer.start();
    consumers.push(consumer);
  }
  return { operator, fleet, executedAt, consumers };
}
