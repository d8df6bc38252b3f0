import type { EntityManager } from 'typeorm';

/**
 * AD1s whose decision new evidence about a device may still change, within a day of an instant:
 * those of the device (a CH) or of the CHs an ESME powers that are withheld (HELD, SUPPRESSED,
 * PAIRED), and those delivered or released since `correctableSince` (late evidence may withdraw
 * them: docs/ENGINE.md, "Corrections").
 */
export async function openAlertsNear(
  tx: EntityManager,
  touched: readonly { device: string; at: Date }[],
  correctableSince: Date,
): Promise<{ id: string }[]> {
  return (await tx.query(
    `SELECT DISTINCT a.id::text AS id
       -- bpchar, not text: compared with the char(23) GUID columns, text would cast the column and
       -- lose the index (a scan of every link per withheld alert).
       FROM unnest($1::bpchar[], $2::timestamptz[]) AS t(device, at)
       JOIN alert a ON a.kind = 'AD1'
                   AND (a.outcome IN ('HELD', 'SUPPRESSED', 'PAIRED') OR a.received_at >= $3)
                   AND a.event_at BETWEEN t.at - interval '1 day' AND t.at + interval '1 day'
                   AND (a.device_guid = t.device
                        OR a.device_guid IN (SELECT comms_hub_guid FROM comms_hub_link WHERE esme_guid = t.device))`,
    [touched.map((t) => t.device), touched.map((t) => t.at), correctableSince],
  )) as { id: string }[];
}
