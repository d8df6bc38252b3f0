/**
 * Reads the server's own statement counter (poa_sieve_db_queries_total, GET /metrics) so a
 * benchmark can say how many SQL statements each alert cost: the round trips that bound
 * single-alert latency.
 */
export async function statementsSent(url: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('poa_sieve_db_queries_total{'))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
