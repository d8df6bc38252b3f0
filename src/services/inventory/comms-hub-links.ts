import type { EntityManager } from 'typeorm';
import { ConflictError, InvalidInputError, NotFoundError } from '../../domain/errors';
import { parseEui64 } from '../../domain/identifiers';
import { CommsHubLinkEntity, DeviceEntity } from '../../entities';
import { returnedRows } from '../../db/rows';

/** A link as submitted to linkCommsHub or linkCommsHubs, before validation. */
export interface CommsHubLinkInput {
  readonly commsHubGuid: string;
  readonly esmeGuid: string;
  readonly effectiveFrom?: Date | null;
}

/** One link of a linkCommsHubs batch, parsed: `index` is its place in the input. */
export interface LinkRequest {
  readonly ch: string;
  readonly esme: string;
  readonly from: Date;
  readonly index: number;
}

interface LinkRow {
  id: string;
  comms_hub_guid: string;
  esme_guid: string;
  effective_from: Date;
  effective_to: Date | null;
}

function toLinkEntity(row: LinkRow): CommsHubLinkEntity {
  return Object.assign(new CommsHubLinkEntity(), {
    id: row.id,
    commsHubGuid: row.comms_hub_guid,
    esmeGuid: row.esme_guid,
    effectiveFrom: row.effective_from,
    effectiveTo: row.effective_to,
  });
}

/**
 * linkCommsHub inside the caller's transaction, with parsed GUIDs: ends any open link of either
 * device at `effectiveFrom` and inserts the new one (or returns the pair's current link).
 */
export async function linkCommsHubIn(
  tx: EntityManager,
  chGuid: string,
  esmeGuid: string,
  effectiveFrom: Date,
): Promise<CommsHubLinkEntity> {
  await lockPair(tx, chGuid, esmeGuid);
  const links = tx.getRepository(CommsHubLinkEntity);
  const open = await links
    .createQueryBuilder('l')
    .where('l.effective_to IS NULL AND (l.comms_hub_guid = :ch OR l.esme_guid = :esme)', {
      ch: chGuid,
      esme: esmeGuid,
    })
    .getMany();
  const same = open.find((l) => l.commsHubGuid === chGuid && l.esmeGuid === esmeGuid);
  if (same && open.length === 1) return same; // already linked: idempotent
  for (const link of open) {
    if (link.effectiveFrom.getTime() >= effectiveFrom.getTime()) {
      throw new ConflictError(
        'LINK_NOT_AFTER_CURRENT',
        `the current link (${link.commsHubGuid} <- ${link.esmeGuid}) starts at ${link.effectiveFrom.toISOString()}; ` +
          'a new link must start after it',
      );
    }
  }
  if (open.length) {
    await tx.query('UPDATE comms_hub_link SET effective_to = $1 WHERE id = ANY($2::bigint[])', [
      effectiveFrom,
      open.map((l) => l.id),
    ]);
  }
  const [inserted] = (await tx.query(
    `INSERT INTO comms_hub_link (comms_hub_guid, esme_guid, effective_from) VALUES ($1, $2, $3)
         RETURNING id, comms_hub_guid, esme_guid, effective_from, effective_to`,
    [chGuid, esmeGuid, effectiveFrom],
  )) as LinkRow[];
  return toLinkEntity(inserted);
}

/** Locks the hub and the meter of one link, and checks that they are a CHF and an ESME. */
async function lockPair(tx: EntityManager, chGuid: string, esmeGuid: string): Promise<void> {
  // Lock both devices so concurrent links of the same pair serialise.
  const devices = await tx
    .getRepository(DeviceEntity)
    .createQueryBuilder('d')
    .setLock('pessimistic_write')
    .where('d.guid IN (:...guids)', { guids: [chGuid, esmeGuid] })
    .orderBy('d.guid')
    .getMany();
  const ch = devices.find((d) => d.guid === chGuid);
  const esme = devices.find((d) => d.guid === esmeGuid);
  if (!ch) throw new NotFoundError('Device', chGuid);
  if (!esme) throw new NotFoundError('Device', esmeGuid);
  if (ch.deviceType !== 'CHF') {
    throw new InvalidInputError(
      'NOT_A_COMMS_HUB',
      `${chGuid} is a ${ch.deviceType}, not a CHF`,
      'commsHubGuid',
    );
  }
  if (esme.deviceType !== 'ESME') {
    throw new InvalidInputError(
      'NOT_AN_ESME',
      `${esmeGuid} is a ${esme.deviceType}, not an ESME`,
      'esmeGuid',
    );
  }
}

/** Parses a linkCommsHubs batch; a device may appear in one of its links only. */
export function parseLinks(inputs: readonly CommsHubLinkInput[], now: Date): LinkRequest[] {
  const seen = new Set<string>();
  return inputs.map((input, i) => {
    const link = {
      ch: parseEui64(input.commsHubGuid, `links[${i}].commsHubGuid`),
      esme: parseEui64(input.esmeGuid, `links[${i}].esmeGuid`),
      from: input.effectiveFrom ?? now,
      index: i,
    };
    for (const [guid, field] of [
      [link.ch, 'commsHubGuid'],
      [link.esme, 'esmeGuid'],
    ] as const) {
      if (seen.has(guid)) {
        throw new InvalidInputError(
          'DUPLICATE_IN_BATCH',
          `device ${guid} appears in more than one link`,
          `links[${i}].${field}`,
        );
      }
      seen.add(guid);
    }
    return link;
  });
}

/**
 * linkCommsHubs inside the caller's transaction, for links from parseLinks: returns the link of
 * each request, in request order.
 */
export async function linkCommsHubsIn(
  tx: EntityManager,
  links: readonly LinkRequest[],
): Promise<CommsHubLinkEntity[]> {
  const guids = links.flatMap((l) => [l.ch, l.esme]).sort();
  await lockLinkedDevices(tx, links, guids);
  const open = returnedRows<LinkRow>(
    await tx.query(
      `SELECT id, comms_hub_guid, esme_guid, effective_from, effective_to FROM comms_hub_link
            WHERE effective_to IS NULL AND (comms_hub_guid = ANY($1) OR esme_guid = ANY($1))`,
      [guids],
    ),
  );
  const { current, ends } = planLinks(links, open);
  const fresh = links.filter((l) => !current.has(l.index));
  if (fresh.length) {
    const inserted = await endAndInsertLinks(tx, ends, fresh);
    const byCh = new Map(inserted.map((r) => [r.comms_hub_guid, r]));
    for (const l of fresh) current.set(l.index, byCh.get(l.ch)!);
  }
  return links.map((l) => toLinkEntity(current.get(l.index)!));
}

/** Locks every device of the batch and checks that each link joins a CHF and an ESME. */
async function lockLinkedDevices(
  tx: EntityManager,
  links: readonly LinkRequest[],
  guids: readonly string[],
): Promise<void> {
  // The devices locked in GUID order, as linkCommsHub locks its pair: no deadlock between them.
  const devices = new Map(
    returnedRows<{ guid: string; device_type: string }>(
      await tx.query('SELECT guid, device_type FROM device WHERE guid = ANY($1) ORDER BY guid FOR UPDATE', [
        guids,
      ]),
    ).map((d) => [d.guid, d.device_type]),
  );
  for (const { ch, esme, index } of links) {
    if (!devices.has(ch)) throw new NotFoundError('Device', ch);
    if (!devices.has(esme)) throw new NotFoundError('Device', esme);
    if (devices.get(ch) !== 'CHF') {
      throw new InvalidInputError(
        'NOT_A_COMMS_HUB',
        `${ch} is a ${devices.get(ch)}, not a CHF`,
        `links[${index}].commsHubGuid`,
      );
    }
    if (devices.get(esme) !== 'ESME') {
      throw new InvalidInputError(
        'NOT_AN_ESME',
        `${esme} is a ${devices.get(esme)}, not an ESME`,
        `links[${index}].esmeGuid`,
      );
    }
  }
}

/**
 * Which requests are already current (by request index), and where each open link they replace
 * ends (by link ID): a link that two new links end, as when two meters swap hubs, ends at the
 * earlier one.
 */
function planLinks(
  links: readonly LinkRequest[],
  open: readonly LinkRow[],
): { current: Map<number, LinkRow>; ends: Map<string, Date> } {
  const openOfCh = new Map(open.map((l) => [l.comms_hub_guid, l]));
  const openOfEsme = new Map(open.map((l) => [l.esme_guid, l]));
  const current = new Map<number, LinkRow>();
  const ends = new Map<string, Date>();
  for (const link of links) {
    const touched = [openOfCh.get(link.ch), openOfEsme.get(link.esme)].filter((l) => l !== undefined);
    const same = touched.find((l) => l.comms_hub_guid === link.ch && l.esme_guid === link.esme);
    if (same && new Set(touched).size === 1) {
      current.set(link.index, same); // already linked: idempotent
      continue;
    }
    for (const l of touched) {
      if (l.effective_from.getTime() >= link.from.getTime()) {
        throw new ConflictError(
          'LINK_NOT_AFTER_CURRENT',
          `the current link (${l.comms_hub_guid} <- ${l.esme_guid}) starts at ${l.effective_from.toISOString()}; ` +
            `a new link must start after it (links[${link.index}])`,
        );
      }
      const end = ends.get(l.id);
      if (!end || link.from.getTime() < end.getTime()) ends.set(l.id, link.from);
    }
  }
  return { current, ends };
}

/** Ends the replaced links and inserts the new ones; returns the inserted rows. */
async function endAndInsertLinks(
  tx: EntityManager,
  ends: ReadonlyMap<string, Date>,
  fresh: readonly LinkRequest[],
): Promise<LinkRow[]> {
  // One statement. The INSERT reads the UPDATE's count first, which makes PostgreSQL end the
  // current links before it inserts (the open-link unique indexes would refuse otherwise).
  return returnedRows<LinkRow>(
    await tx.query(
      `WITH ended AS (
               UPDATE comms_hub_link l SET effective_to = e.t
                 FROM unnest($1::bigint[], $2::timestamptz[]) AS e(id, t)
                WHERE l.id = e.id
               RETURNING l.id
             )
             INSERT INTO comms_hub_link (comms_hub_guid, esme_guid, effective_from)
             SELECT ch, esme, t FROM unnest($3::bpchar[], $4::bpchar[], $5::timestamptz[]) AS i(ch, esme, t)
              WHERE (SELECT count(*) FROM ended) >= 0
             RETURNING id, comms_hub_guid, esme_guid, effective_from, effective_to`,
      [
        [...ends.keys()],
        [...ends.values()],
        fresh.map((l) => l.ch),
        fresh.map((l) => l.esme),
        fresh.map((l) => l.from),
      ],
    ),
  );
}
