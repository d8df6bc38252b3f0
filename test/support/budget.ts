/**
 * Safety-budget counter rows (safety_budget_minute) that differ from a count of the AD1s as they
 * stand: by DNO and by area, per minute of receipt (all shards summed), received and withheld
 * (SUPPRESSED or PAIRED).
 * No rows when the counters are right. Counted independently of the service's code on purpose.
 */
export const BUDGET_COUNTER_MISMATCHES = `
  WITH counted AS (
    SELECT k.scope, k.key, to_timestamp(floor(extract(epoch FROM a.received_at) / 60) * 60) AS minute,
           count(*)::int AS alerts,
           (count(*) FILTER (WHERE a.outcome IN ('SUPPRESSED', 'PAIRED')))::int AS suppressions
      FROM alert a
     CROSS JOIN LATERAL (VALUES ('DNO', a.distributor_id::text), ('AREA', a.area_key)) AS k(scope, key)
     WHERE a.kind = 'AD1' AND k.key IS NOT NULL
     GROUP BY 1, 2, 3
  )
  SELECT scope, key, minute, c.alerts AS counted_alerts, b.alerts AS stored_alerts,
         c.suppressions AS counted_suppressions, b.suppressions AS stored_suppressions
    FROM counted c
    FULL JOIN (SELECT scope, key, minute, sum(alerts)::int AS alerts, sum(suppressions)::int AS suppressions
                 FROM safety_budget_minute GROUP BY 1, 2, 3) b USING (scope, key, minute)
   WHERE coalesce(c.alerts, 0) <> coalesce(b.alerts, 0)
      OR coalesce(c.suppressions, 0) <> coalesce(b.suppressions, 0)
   ORDER BY 1, 2, 3`;
