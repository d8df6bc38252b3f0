import net from 'node:net';
import { createLogger } from '../../src/logger';
import { PgEventTarget } from '../../src/realtime/pg-event-target';
import { eventually } from '../support/app';
import { BACKEND, createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';

/**
 * The LISTEN connection across a database failover, as the service sees one through a proxy
 * (HAProxy in front of Patroni): every session cut, then a few seconds in which connections are
 * accepted and closed at once (no primary), then a new primary. The connection must come back
 * within about a second of the primary (/readyz waits for it), LISTEN again on its channels, and
 * tell its readers to catch up.
 */

/** A TCP proxy to the real server that can be switched off: off, it ends every session and refuses new ones. */
class SwitchableProxy {
  private readonly sockets = new Set<net.Socket>();
  private up = true;
  private readonly server: net.Server;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      if (!this.up) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) =>
      this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as net.AddressInfo).port)),
    );
  }

  down(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }

  bringUp(): void {
    this.up = true;
  }

  close(): Promise<void> {
    this.down();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const maybe = BACKEND === 'postgres' ? describe : describe.skip;

maybe('LISTEN connection across a failover', () => {
  let db: TestDatabase;
  let proxy: SwitchableProxy;
  let target: PgEventTarget;

  beforeAll(async () => {
    db = await createTestDatabase();
    const url = new URL(db.url);
    proxy = new SwitchableProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(await proxy.listen());
    target = new PgEventTarget(url.toString(), createLogger('silent'));
    await target.start();
  });

  afterAll(async () => {
    await target?.close();
    await proxy?.close();
    await db?.drop();
  });

  test('reconnects within a second of the new primary, listens again and asks readers to catch up', async () => {
    const received: unknown[] = [];
    target.addEventListener('failover_probe', (e) => received.push((e as CustomEvent).detail));
    let caughtUp = 0;
    target.onReconnect(() => caughtUp++);
    target.dispatchEvent(new CustomEvent('failover_probe', { detail: { n: 1 } }));
    await eventually(async () => (received.length === 1 ? true : undefined), 5_000, 'first notification');

    // No primary for 4.5 s: every reconnect attempt is refused, and the backoff grows.
    proxy.down();
    await eventually(async () => (!target.isConnected ? true : undefined), 5_000, 'connection lost');
    await new Promise((r) => setTimeout(r, 4_500));
    expect(target.isConnected).toBe(false);
    const primaryAt = Date.now();
    proxy.bringUp();
    await eventually(async () => (target.isConnected ? true : undefined), 10_000, 'connection restored');
    const backAfterMs = Date.now() - primaryAt;

    // With the backoff capped at 5 s the attempts fell 0.25, 0.75, 1.75, 3.75 and 7.75 s after the
    // cut: 3.25 s after this primary came.
    expect(backAfterMs).toBeLessThan(1_500);
    expect(caughtUp).toBe(1);
    target.dispatchEvent(new CustomEvent('failover_probe', { detail: { n: 2 } }));
    await eventually(async () => (received.length === 2 ? true : undefined), 5_000, 'notification after it');
    expect(received).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
