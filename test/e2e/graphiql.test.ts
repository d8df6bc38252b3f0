import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import { chromium } from 'playwright-core';
import type { Browser, Locator, Page } from 'playwright-core';
import { graphiqlCsp, graphiqlRouter } from '../../src/http/graphiql';
import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { BACKEND } from '../support/database';
import { ok } from '../support/integration';

/**
 * The GraphiQL page at /graphiql in headless Chromium: served from our own bundle (no request
 * leaves 127.0.0.1, no CSP violation), a query over HTTP with the token from the headers editor,
 * and the DNO subscription over graphql-ws receiving an alert ingested through the API.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'graphiql', 'graphiql.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// A Communications Hub not in the inventory: the AD1 is DELIVERED at once, routed by its MPAN (distributor 12).
const UNKNOWN_CH = '00-DB-C4-00-00-00-77-01';
const MPAN_12 = '1200023305967';

const DNO_ALERTS = `subscription DnoAlerts { dnoAlerts { sequence kind alert { id deviceGuid eventAt } decision { outcome reasonCode } otaInduced { activationRequestId model firmwareBefore firmwareAfter } } }`;

describe(`GraphiQL at /graphiql (${BACKEND})`, () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(BUNDLE)) {
      await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts', 'build-graphiql.js')], {
        cwd: ROOT,
      });
    }
    t = await startTestApp();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    page.on('request', (request) => requests.push(request.url()));
    page.on('websocket', (ws) => requests.push(ws.url()));
    // Collects Content-Security-Policy violations the page reports.
    await page.addInitScript(() => {
      const w = window as unknown as { cspViolations: string[] };
      w.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  /** Replaces a Monaco editor's text the way a user would: focus, select all, type. */
  async function setEditor(editor: Locator, text: string): Promise<void> {
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(text);
    // Monaco auto-closes brackets and quotes while text is typed; drop what it added after the cursor.
    await page.keyboard.press('Control+Shift+End');
    await page.keyboard.press('Delete');
  }

  test('serves the page with a strict CSP and loads everything from 127.0.0.1', async () => {
    const res = await fetch(`${t.url}/graphiql`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);

    await page.goto(`${t.url}/graphiql`);
    await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor();
    // The preloaded example operations.
    for (const tab of ['DnoAlerts', 'ScheduleActivation', 'ExplainAlert', 'OperatorStatus']) {
      await page.locator('.graphiql-tab', { hasText: tab }).waitFor();
    }
  });

  test('runs a query and receives a dnoAlerts event with an ED token from the headers editor', async () => {
    const operator = await t.token({ role: 'OPERATOR' });
    const ed12 = await t.token({ role: 'ED', distributorIds: ['12'] });
    const queryEditor = page.locator('.graphiql-query-editor .monaco-editor').first();
    const headersEditor = page.locator('.graphiql-editor-tool .monaco-editor').last();
    const result = page.locator('.result-window');
    const execute = page.locator('.graphiql-execute-button');

    await setEditor(headersEditor, JSON.stringify({ authorization: `Bearer ${ed12}` }));
    await setEditor(queryEditor, '{ networkOperators { distributorId name } }');
    await execute.click();
    // Monaco renders spaces as no-break spaces: match them with \s.
    await result.getByText(/London\sPower\sNetworks/).waitFor();

    await setEditor(queryEditor, DNO_ALERTS);
    await page.getByRole('button', { name: /Prettify query/ }).click();
    await execute.click();
    // While the subscription runs the execute button turns into a stop button.
    await page.getByRole('button', { name: /^Stop query/ }).waitFor();

    const { body } = await t.gql<{ ingestAlerts: { alertId: string; outcome: string }[] }>(
      `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId outcome } }`,
      {
        a: [{ powerOutage: { commsHubGuid: UNKNOWN_CH, startAt: new Date().toISOString(), mpan: MPAN_12 } }],
      },
      operator,
    );
    const [ingested] = ok(body).ingestAlerts;
    expect(ingested.outcome).toBe('DELIVERED');

    await result.getByText(UNKNOWN_CH).waitFor();
    const text = (await result.innerText()).replace(/\u00a0/g, ' ');
    expect(text).toContain(`"id": "${ingested.alertId}"`);
    expect(text).toContain('"DELIVERED"');

    // Show the start of the (long) token line in the screenshot.
    await headersEditor.click();
    await page.keyboard.press('Control+Home');
    fs.mkdirSync(path.join(ROOT, 'artifacts'), { recursive: true });
    const shot = path.join(ROOT, 'artifacts', `graphiql-${BACKEND}.png`);
    await page.screenshot({ path: shot });
    fs.copyFileSync(shot, path.join(ROOT, 'artifacts', 'graphiql.png'));
    // The README's screenshot is refreshed only on request, so a test run leaves the tree clean.
    if (BACKEND === 'pglite' && process.env.UPDATE_README_SCREENSHOT === '1') {
      fs.copyFileSync(shot, path.join(ROOT, 'docs', 'graphiql.png'));
    }

    const violations = await page.evaluate(
      () => (window as unknown as { cspViolations: string[] }).cspViolations,
    );
    expect(violations).toEqual([]);
    const foreign = requests.filter(
      (url) => !/^(https?|wss?):\/\/127\.0\.0\.1[:/]/.test(url) && !url.startsWith('data:'),
    );
    expect(foreign).toEqual([]);
    // The assets were our own bundle and the subscription went over our own WebSocket.
    expect(requests).toContain(`${t.url}/graphiql/assets/graphiql.js`);
    expect(requests).toContain(t.wsUrl);
  });

  test('without the bundle the page answers 503 and says how to build it', async () => {
    const app = express().use(graphiqlRouter({ assetsDir: path.join(ROOT, 'dist', 'no-such-graphiql') }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      for (const url of ['/graphiql', '/graphiql/assets/graphiql.js']) {
        const res = await fetch(`http://127.0.0.1:${port}${url}`);
        expect(res.status).toBe(503);
        expect(await res.text()).toContain('npm run build:graphiql');
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('serves only the bundle files, gzipped when accepted', async () => {
    expect((await fetch(`${t.url}/graphiql/assets/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${t.url}/graphiql/assets/index.mjs`)).status).toBe(404);
    const gz = await fetch(`${t.url}/graphiql/assets/graphql.worker.js`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(gz.status).toBe(200);
    expect(gz.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    // fetch decompresses: the body is the worker script itself.
    expect((await gz.text()).length).toBe(
      fs.statSync(path.join(ROOT, 'dist', 'graphiql', 'graphql.worker.js')).size,
    );
  });

  test('the CSP echoes only a well-formed Host as the WebSocket origin', async () => {
    expect(graphiqlCsp('127.0.0.1:4000')).toContain(
      "connect-src 'self' ws://127.0.0.1:4000 wss://127.0.0.1:4000",
    );
    expect(graphiqlCsp('evil; script-src *')).toBe(graphiqlCsp(undefined));
  });
});
