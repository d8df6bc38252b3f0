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
  // The devices first (each touched device and the CHs it ever powered), then their AD1s by
  // (device_guid, event_at): an OR of both in one join condition ran the link subquery for every
  // alert row of the month's partition, 1.5-10 s per call with 150 touched devices.
  return (await tx.query(
    `WITH t AS (SELECT * FROM unnest($1::bpchar[], $2::timestamptz[]) AS t(device, at)),
          d AS (SELECT device, at FROM t
                UNION
                SELECT l.comms_hub_guid, t.at FROM t JOIN comms_hub_link l ON l.esme_guid = t.device)
     SELECT DISTINCT a.id::text AS id
       -- bpchar, not text: compared with the char(23) GUID columns, text would cast the column and
       -- lose the index.
       FROM d
       JOIN alert a ON a.device_guid = d.device
                   AND a.event_at BETWEEN d.at - interval '1 day' AND d.at + interval '1 day'
      WHERE a.kind = 'AD1'
        AND (a.outcome IN ('HELD', 'SUPPRESSED', 'PAIRED') OR a.received_at >= $3)`,
    [touched.map((t) => t.device), touched.map((t) => t.at), correctableSince],
  )) as { id: string }[];
}
