import type { EntityManager } from 'typeorm';

/** Withheld AD1s of a device (a CH, or the CHs an ESME powers) within a day of an instant. */
export async function withheldNear(
  tx: EntityManager,
  touched: readonly { device: string; at: Date }[],
): Promise<{ id: string }[]> {
  return (await tx.query(
    `SELECT DISTINCT a.id::text AS id
       -- bpchar, not text: compared with the char(23) GUID columns, text would cast the column and
       -- lose the index (a scan of every link per withheld alert).
       FROM unnest($1::bpchar[], $2::timestamptz[]) AS t(device, at)
       JOIN alert a ON a.kind = 'AD1' AND a.outcome IN ('HELD', 'SUPPRESSED', 'PAIRED')
                   AND a.event_at BETWEEN t.at - interval '1 day' AND t.at + interval '1 day'
                   AND (a.device_guid = t.device
                        OR a.device_guid IN (SELECT comms_hub_guid FROM comms_hub_link WHERE esme_guid = t.device))`,
    [touched.map((t) => t.device), touched.map((t) => t.at)],
  )) as { id: string }[];
}
