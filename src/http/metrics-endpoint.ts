import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Request, RequestHandler } from 'express';
import type { Metrics } from '../metrics';

/**
 * Who may read /metrics. It names every DNO with its alert volumes, so it is not public:
 * - METRICS_PORT: served on a listener of its own (METRICS_HOST), and not on the API port;
 * - METRICS_TOKEN: the scrape must send `Authorization: Bearer <METRICS_TOKEN>`;
 * - neither: only a caller on this host (a loopback peer that is not a proxy forwarding someone
 *   else: no X-Forwarded-For / Forwarded header) may read it.
 */
export interface MetricsEndpointSettings {
  readonly port?: number;
  readonly host?: string;
  readonly token?: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK.test(address);
}

function sameSecret(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/** Whether this request may scrape, and if not, the status and reason to answer with. */
export function metricsAccess(
  req: Pick<Request, 'headers'> & { socket: { remoteAddress?: string } },
  settings: MetricsEndpointSettings,
): { ok: true } | { ok: false; status: 401 | 403; reason: string } {
  if (settings.token) {
    const match = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? '').trim());
    return match && sameSecret(match[1], settings.token)
      ? { ok: true }
      : { ok: false, status: 401, reason: 'metrics need Authorization: Bearer <METRICS_TOKEN>' };
  }
  if (settings.port !== undefined) return { ok: true }; // a port of its own: access is the network's job
  const proxied = req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined;
  return isLoopback(req.socket.remoteAddress) && !proxied
    ? { ok: true }
    : {
        ok: false,
        status: 403,
        reason:
          'metrics are served to this host only: set METRICS_TOKEN or METRICS_PORT to scrape from elsewhere',
      };
}

export function metricsHandler(metrics: Metrics, settings: MetricsEndpointSettings): RequestHandler {
  return async (req, res) => {
    const access = metricsAccess(req, settings);
    if (!access.ok) {
      res.status(access.status).type('text/plain').send(`${access.reason}\n`);
      return;
    }
    res.type(metrics.registry.contentType).send(await metrics.scrape());
  };
}

/** The separate metrics listener (METRICS_PORT): /metrics and nothing else. */
export async function startMetricsServer(
  metrics: Metrics,
  settings: MetricsEndpointSettings & { port: number; host: string },
): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsHandler(metrics, settings));
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = settings.host === '0.0.0.0' || settings.host === '::' ? '127.0.0.1' : settings.host;
  return {
    url: `http://${shownHost}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
