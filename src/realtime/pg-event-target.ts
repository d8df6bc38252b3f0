import { Client } from 'pg';
import type { Logger } from '../logger';

type Listener = EventListenerOrEventListenerObject;

/** Longest wait between two attempts to reconnect the LISTEN connection. */
export const MAX_RECONNECT_BACKOFF_MS = 1_000;

/**
 * An EventTarget over PostgreSQL LISTEN/NOTIFY, so `createPubSub` fans events out across every
 * instance that shares the database. Notifications are wake-up signals only: a missed one must
 * lose nothing, so payloads carry identifiers and readers go back to the tables for the truth.
 *
 * One dedicated connection carries every LISTEN. When it drops, the target reconnects with
 * backoff, re-issues LISTEN for every channel in use and calls the `onReconnect` hooks, so
 * readers can catch up on whatever was published while it was away.
 */
export class PgEventTarget implements EventTarget {
  private client: Client | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  private chain: Promise<unknown> = Promise.resolve();
  /** Notifications dispatched and not yet sent: [channel, payload]. */
  private outgoing: [string, string][] = [];
  private sendQueued = false;
  private readonly reconnectHooks = new Set<() => void>();
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs = 250;
  private connected = false;

  constructor(
    private readonly connectionString: string,
    private readonly log: Logger,
  ) {}

  /** Opens the listening connection. Resolves once it is listening. */
  async start(): Promise<void> {
    await this.connect();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  onReconnect(hook: () => void): () => void {
    this.reconnectHooks.add(hook);
    return () => this.reconnectHooks.delete(hook);
  }

  addEventListener(type: string, callback: Listener | null): void {
    if (!callback) return;
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
      this.run((c) => c.query(`LISTEN ${c.escapeIdentifier(type)}`));
    }
    set.add(callback);
  }

  removeEventListener(type: string, callback: Listener | null): void {
    const set = this.listeners.get(type);
    if (!set || !callback) return;
    set.delete(callback);
    if (set.size === 0) {
      this.listeners.delete(type);
      this.run((c) => c.query(`UNLISTEN ${c.escapeIdentifier(type)}`));
    }
  }

  dispatchEvent(event: Event): boolean {
    const detail = (event as CustomEvent).detail ?? null;
    const payload = JSON.stringify(detail);
    if (Buffer.byteLength(payload) > 7900) {
      // NOTIFY rejects payloads over 8000 bytes; publishers must send identifiers, not entities.
      this.log.error({ topic: event.type, bytes: payload.length }, 'notification payload too large, dropped');
      return false;
    }
    this.outgoing.push([event.type, payload]);
    this.queueSend();
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    await this.chain.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    await client?.end().catch(() => undefined);
  }

  /**
   * Sends every notification dispatched since the last send in one statement, when the one client
   * is next free. One round trip per notification, in turn on one connection, capped how many
   * wake-ups an instance could publish (each ingest batch publishes one per DNO it touched): at
   * about a hundred batches a second the queue grew and wake-ups arrived hundreds of
   * milliseconds after their commits. Order is kept; nothing is sent while disconnected (as
   * before: readers poll the tables).
   */
  private queueSend(): void {
    if (this.sendQueued) return;
    this.sendQueued = true;
    this.run(async (c) => {
      this.sendQueued = false;
      const batch = this.outgoing;
      this.outgoing = [];
      if (batch.length === 0) return;
      await c.query(
        // unnest yields the rows in array order, and pg_notify runs once per row as they come.
        'SELECT pg_notify(n.channel, n.payload) FROM unnest($1::text[], $2::text[]) AS n(channel, payload)',
        [batch.map(([channel]) => channel), batch.map(([, payload]) => payload)],
      );
    });
  }

  /** Serialises every query on the one client: pg deprecates concurrent queries on a client. */
  private run(op: (c: Client) => Promise<unknown>): void {
    this.chain = this.chain
      .then(() => {
        if (this.client && this.connected) return op(this.client);
        // Not connected: notifications queued so far are dropped, as a lone pg_notify would be.
        this.sendQueued = false;
        this.outgoing = [];
        return undefined;
      })
      .catch((error: unknown) => this.log.warn({ err: error }, 'LISTEN/NOTIFY query failed'));
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.connectionString,
      application_name: 'poa-sieve-listen',
    });
    client.on('notification', (msg) => this.deliver(msg.channel, msg.payload));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      for (const channel of this.listeners.keys()) {
        await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      }
    } catch (error) {
      // Half set up (its backend killed between connect and LISTEN, say): close it, or its
      // connection stays open beside the next attempt's.
      client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    this.connected = true;
    this.backoffMs = 250;
  }

  private lost(client: Client, error?: Error): void {
    if (this.client !== client || this.closed) return;
    this.connected = false;
    this.client = undefined;
    this.log.warn({ err: error }, 'LISTEN connection lost; reconnecting');
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const delay = this.backoffMs;
    // At most a second apart: /readyz waits for this connection, and after a failover the new
    // primary should be used as soon as it takes connections (a 5 s cap kept the instance
    // unready up to 5 s longer than ingest was down).
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_RECONNECT_BACKOFF_MS);
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => {
          this.log.info('LISTEN connection restored');
          for (const hook of this.reconnectHooks) hook();
        },
        (error: unknown) => {
          this.log.warn({ err: error, retryInMs: this.backoffMs }, 'LISTEN reconnect failed');
          this.scheduleReconnect();
        },
      );
    }, delay);
    this.reconnectTimer.unref();
  }

  private deliver(channel: string, payload: string | undefined): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    let detail: unknown = null;
    try {
      detail = payload ? JSON.parse(payload) : null;
    } catch {
      this.log.warn({ channel }, 'ignoring a notification that is not JSON');
      return;
    }
    const event = new CustomEvent(channel, { detail });
    for (const listener of [...set]) {
      if (typeof listener === 'function') listener(event);
      else listener.handleEvent(event);
    }
  }
}
