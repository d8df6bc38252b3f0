import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Request, Response, Router } from 'express';

/**
 * GET /graphiql: a GraphiQL page bundled at build time (scripts/build-graphiql.js, from the
 * graphiql npm package) and served from this process; nothing is loaded from a CDN. The page
 * talks to /graphql over HTTP and graphql-ws on the same origin.
 */

/** dist/graphiql from src/http (ts-node) or from dist/src/http (compiled). */
const CANDIDATE_DIRS = [
  path.resolve(__dirname, '..', '..', 'dist', 'graphiql'),
  path.resolve(__dirname, '..', '..', 'graphiql'),
];

/** The bundle directory, if it has been built. */
export function graphiqlAssetsDir(candidates: readonly string[] = CANDIDATE_DIRS): string | undefined {
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'graphiql.js')));
}

/** Only what the bundle uses. */
const ASSETS: Readonly<Record<string, string>> = {
  'graphiql.js': 'text/javascript; charset=utf-8',
  'graphiql.css': 'text/css; charset=utf-8',
  'editor.worker.js': 'text/javascript; charset=utf-8',
  'json.worker.js': 'text/javascript; charset=utf-8',
  'graphql.worker.js': 'text/javascript; charset=utf-8',
};

/** A Host header we are willing to echo into the CSP (no spaces, semicolons or quotes). */
const SAFE_HOST = /^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$/;

/**
 * Same origin only. 'self' also covers ws:/wss: to the same host in CSP Level 3 browsers; the
 * explicit ws(s) origin is for older ones. Inline styles are needed: Monaco and GraphiQL's
 * React components set element styles at run time. No 'unsafe-eval', no inline scripts.
 * Fonts are data: URLs inside graphiql.css.
 */
export function graphiqlCsp(host: string | undefined): string {
  const ws = host && SAFE_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "img-src 'self' data:",
    `connect-src 'self'${ws}`,
    "worker-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>poa-sieve GraphiQL</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/graphiql/assets/graphiql.css" />
    <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script src="/graphiql/assets/graphiql.js"></script>
  </body>
</html>
`;

const NOT_BUILT =
  'The GraphiQL bundle has not been built: run `npm run build:graphiql` (npm start and npm run build do it).\n';

function notBuilt(res: Response): void {
  res.status(503).type('text/plain').send(NOT_BUILT);
}

export interface GraphiqlOptions {
  /** Where the bundle is (default dist/graphiql); looked up on every request, so a later build is picked up. */
  readonly assetsDir?: string;
}

export function graphiqlRouter(options: GraphiqlOptions = {}): Router {
  const router = express.Router();
  const candidates = options.assetsDir ? [options.assetsDir] : CANDIDATE_DIRS;

  router.get('/graphiql', (req: Request, res: Response) => {
    if (!graphiqlAssetsDir(candidates)) return notBuilt(res);
    res
      .set({
        'content-security-policy': graphiqlCsp(req.headers.host),
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-cache',
      })
      .type('html')
      .send(PAGE);
  });

  router.get('/graphiql/assets/:file', (req: Request, res: Response) => {
    const file = String(req.params.file);
    const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!type) {
      res.status(404).type('text/plain').send('Not found\n');
      return;
    }
    const dir = graphiqlAssetsDir(candidates);
    if (!dir) return notBuilt(res);
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const full = path.join(dir, file);
    const served = gzip && fs.existsSync(`${full}.gz`) ? `${full}.gz` : full;
    res.set({
      'content-type': type,
      'x-content-type-options': 'nosniff',
      vary: 'Accept-Encoding',
      // Not content-hashed names: revalidate (ETag/Last-Modified from sendFile) instead of caching blindly.
      'cache-control': 'no-cache',
      ...(served !== full ? { 'content-encoding': 'gzip' } : {}),
    });
    res.sendFile(served, (error) => {
      if (error && !res.headersSent) res.status(404).type('text/plain').send('Not found\n');
    });
  });

  return router;
}
