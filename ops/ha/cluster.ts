import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../test/support/consumer';
import { postgresBinDir } from '../../test/faults/support/pg-cluster';
import { PASSWORD, dataDir, etcdArgs, haproxyConfig, memberDir, patroniConfig } from './config';
import type { HaLayout } from './config';

/**
 * A local PostgreSQL HA cluster of the kind a DNO would run the service on: etcd, PostgreSQL
 * members managed by Patroni (synchronous replication) and HAProxy in front, routing to the
 * current primary. Everything runs from Debian's packages, on 127.0.0.1 and free ports, in a
 * temporary folder. Run as root, the folder and every process belong to the `postgres` user
 * (PostgreSQL refuses to run as root).
 *
 * Every process starts in a session of its own and outlives the process that started it, so
 * `npm run ha:up` can return and `npm run ha:down` stop it later: the state (folder, ports, pids)
 * is in `<folder>/state.json`. The failover drill uses the same class, and its faults.
 */

export interface HaState {
  readonly layout: HaLayout;
  readonly pids: { etcd: number; haproxy: number; members: Record<string, number> };
}

export interface Member {
  readonly name: string;
  /** leader, sync_standby or replica. */
  readonly role: string;
  /** running, streaming, stopped, starting, ... */
  readonly state: string;
  readonly timeline?: number;
  readonly lag?: number | string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class HaCluster {
  private constructor(readonly state: HaState) {}

  get layout(): HaLayout {
    return this.state.layout;
  }

  /** The service's DATABASE_URL: through HAProxy, to the current primary. */
  url(database = 'postgres'): string {
    return `postgres://postgres:${PASSWORD}@127.0.0.1:${this.layout.haproxy}/${database}`;
  }

  /** Creates the folder, starts etcd, the members (the first bootstraps) and HAProxy, and waits until healthy. */
  static async start(options: { members?: number; log?: (line: string) => void } = {}): Promise<HaCluster> {
    const log = options.log ?? (() => undefined);
    const count = options.members ?? 3;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poa-sieve-ha-'));
    const ports = await distinctFreePorts(3 + 2 * count);
    const layout: HaLayout = {
      dir,
      etcdClient: ports[0],
      etcdPeer: ports[1],
      haproxy: ports[2],
      members: Array.from({ length: count }, (_, i) => ({
        name: `pg${i + 1}`,
        pg: ports[3 + 2 * i],
        rest: ports[4 + 2 * i],
      })),
      pgBin: postgresBinDir(),
    };
    for (const m of layout.members) {
      fs.mkdirSync(memberDir(layout, m.name), { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(memberDir(layout, m.name), 'patroni.yml'), patroniConfig(layout, m));
    }
    fs.writeFileSync(path.join(dir, 'haproxy.cfg'), haproxyConfig(layout));
    if (AS_ROOT) execFileSync('chown', ['-R', 'postgres:', dir]);
    const pids: HaState['pids'] = { etcd: 0, haproxy: 0, members: {} };
    const cluster = new HaCluster({ layout, pids });
    LIVE.add(cluster);
    try {
      pids.etcd = launch(layout, 'etcd', '/usr/bin/etcd', etcdArgs(layout));
      await waitFor(() => httpOk(`http://127.0.0.1:${layout.etcdClient}/health`), 30_000, 'etcd healthy');
      log(`etcd on 127.0.0.1:${layout.etcdClient}`);
      for (const [i, m] of layout.members.entries()) {
        pids.members[m.name] = cluster.launchMember(m.name);
        // The first member initialises the cluster alone; the others clone it.
        if (i === 0)
          await waitFor(async () => (await cluster.leader()) === m.name, 90_000, `${m.name} primary`);
        log(`${m.name}: PostgreSQL on 127.0.0.1:${m.pg}, Patroni REST on 127.0.0.1:${m.rest}`);
      }
      pids.haproxy = launch(layout, 'haproxy', '/usr/sbin/haproxy', [
        '-db',
        '-f',
        path.join(dir, 'haproxy.cfg'),
      ]);
      cluster.save();
      await cluster.waitHealthy(120_000);
      log(`HAProxy on 127.0.0.1:${layout.haproxy} -> the primary`);
    } catch (error) {
      cluster.destroySync();
      throw error;
    }
    return cluster;
  }

  /** Leaves the cluster running when this process exits (`npm run ha:up`). */
  keep(): void {
    LIVE.delete(this);
  }

  /** A cluster started earlier (by `npm run ha:up`), from its state file. */
  static load(stateFile: string): HaCluster {
    return new HaCluster(JSON.parse(fs.readFileSync(stateFile, 'utf8')) as HaState);
  }

  get stateFile(): string {
    return path.join(this.layout.dir, 'state.json');
  }

  save(): void {
    fs.writeFileSync(this.stateFile, `${JSON.stringify(this.state, null, 2)}\n`);
  }

  /** Patroni's view of the cluster, from the first member whose REST API answers. */
  async members(): Promise<Member[]> {
    for (const m of this.layout.members) {
      try {
        const res = await fetch(`http://127.0.0.1:${m.rest}/cluster`, { signal: AbortSignal.timeout(1_000) });
        if (res.ok) return ((await res.json()) as { members: Member[] }).members;
      } catch {
        // frozen or stopped: ask the next one
      }
    }
    return [];
  }

  /** The member holding the leader key, if any. */
  async leader(): Promise<string | undefined> {
    return (await this.members()).find((m) => m.role === 'leader' && m.state === 'running')?.name;
  }

  /**
   * Healthy: a running leader, every member up, a synchronous standby streaming, and HAProxy
   * taking connections to the primary.
   */
  async healthy(): Promise<boolean> {
    const members = await this.members();
    if (members.length !== this.layout.members.length) return false;
    if (!members.some((m) => m.role === 'leader' && m.state === 'running')) return false;
    // Patroni 3.0 (Debian 12) calls a replica that replays WAL `running`; later versions `streaming`.
    const replaying = (m: Member) => m.state === 'running' || m.state === 'streaming';
    if (!members.some((m) => m.role === 'sync_standby' && replaying(m))) return false;
    if (members.some((m) => m.role !== 'leader' && !replaying(m))) return false;
    return this.primaryAnswers();
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    await waitFor(
      () => this.healthy(),
      timeoutMs,
      'cluster healthy (leader, synchronous standby, HAProxy)',
    ).catch(async (error: Error) => {
      const proxied = (await this.primaryAnswers()) ? 'reaches' : 'does not reach';
      throw new Error(
        `${error.message}: members ${JSON.stringify(await this.members())}; HAProxy ${proxied} a primary`,
      );
    });
  }

  /** True when a connection through HAProxy reaches a writable primary. */
  async primaryAnswers(): Promise<boolean> {
    try {
      const out = execFileSync(
        path.join(this.layout.pgBin, 'psql'),
        [this.url(), '-XAtc', 'SELECT pg_is_in_recovery()'],
        {
          timeout: 3_000,
          stdio: ['ignore', 'pipe', 'ignore'],
          env: { ...process.env, PGCONNECT_TIMEOUT: '2' },
        },
      );
      return out.toString().trim() === 'f';
    } catch {
      return false;
    }
  }

  /** A planned switchover to the synchronous standby (Patroni's REST API); resolves when Patroni says it is done. */
  async switchover(): Promise<{ from: string; to: string }> {
    const members = await this.members();
    const from = members.find((m) => m.role === 'leader')?.name;
    const to = members.find((m) => m.role === 'sync_standby')?.name;
    if (!from || !to)
      throw new Error(`no leader or synchronous standby to switch over: ${JSON.stringify(members)}`);
    const rest = this.member(from).rest;
    const res = await fetch(`http://127.0.0.1:${rest}/switchover`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ leader: from, candidate: to }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`switchover refused (${res.status}): ${text}`);
    return { from, to };
  }

  /** kill -9 of a member's postmaster: its backends die with it. Returns the pid killed. */
  killPostmaster(name: string): number {
    const pid = postmasterPid(this.layout, name);
    if (!pid) throw new Error(`${name} has no running postmaster`);
    process.kill(pid, 'SIGKILL');
    return pid;
  }

  /**
   * Freezes a whole member with SIGSTOP, as a paused VM: Patroni, the postmaster and every
   * backend. Returns the function that thaws it (SIGCONT, in the reverse order).
   */
  freeze(name: string): () => void {
    const postmaster = postmasterPid(this.layout, name);
    const pids = [
      this.state.pids.members[name],
      ...(postmaster ? [postmaster, ...childrenOf(postmaster)] : []),
    ];
    for (const pid of pids) signal(pid, 'SIGSTOP');
    return () => {
      for (const pid of [...pids].reverse()) signal(pid, 'SIGCONT');
    };
  }

  /** Stops everything (Patroni stops its PostgreSQL) and removes the folder, unless `keepFiles`. */
  async stop(options: { keepFiles?: boolean } = {}): Promise<void> {
    const { pids } = this.state;
    const patronis = Object.values(pids.members);
    for (const pid of patronis) signal(pid, 'SIGCONT');
    for (const pid of patronis) signal(pid, 'SIGTERM');
    await waitFor(async () => patronis.every((p) => !alive(p)), 30_000, 'Patroni stopped').catch(
      () => undefined,
    );
    this.destroySync(options.keepFiles);
  }

  /** Kills whatever is left (processes, postmasters) and removes the folder: for exits and failures. */
  destroySync(keepFiles = false): void {
    LIVE.delete(this);
    const { pids } = this.state;
    for (const m of this.layout.members) {
      const postmaster = postmasterPid(this.layout, m.name);
      for (const pid of [pids.members[m.name], postmaster, ...(postmaster ? childrenOf(postmaster) : [])]) {
        if (pid) {
          signal(pid, 'SIGCONT');
          signal(pid, 'SIGKILL');
        }
      }
    }
    for (const pid of [pids.haproxy, pids.etcd]) if (pid) signal(pid, 'SIGKILL');
    if (!keepFiles) fs.rmSync(this.layout.dir, { recursive: true, force: true });
  }

  /** The log of a member's Patroni (and of the PostgreSQL it runs), for failure messages. */
  logOf(name: string): string {
    const dir = memberDir(this.layout, name);
    const read = (file: string) => {
      try {
        return fs.readFileSync(path.join(dir, file), 'utf8');
      } catch {
        return '';
      }
    };
    return read('patroni.log') + read('stdout.log');
  }

  private member(name: string) {
    const m = this.layout.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  private launchMember(name: string): number {
    return launch(this.layout, name, '/usr/bin/patroni', [
      path.join(memberDir(this.layout, name), 'patroni.yml'),
    ]);
  }
}

/** Clusters of this process not yet removed: killed and deleted on exit, even after a failure. */
const LIVE = new Set<HaCluster>();
process.once('exit', () => {
  for (const cluster of [...LIVE]) cluster.destroySync();
});

/** Run as root (CI, containers), the cluster runs as `postgres`; otherwise as the user running it. */
const AS_ROOT = process.getuid?.() === 0;

/** Starts a process as `postgres` (when run as root), in a session of its own, its output in `<dir>/<name>/stdout.log`. */
function launch(layout: HaLayout, name: string, command: string, args: string[]): number {
  const dir = path.join(layout.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  if (AS_ROOT) execFileSync('chown', ['postgres:', dir]);
  const out = fs.openSync(path.join(dir, 'stdout.log'), 'a');
  const child = spawn(command, args, {
    cwd: dir,
    detached: true,
    stdio: ['ignore', out, out],
    ...(AS_ROOT ? postgresUser() : {}),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
  });
  fs.closeSync(out);
  child.unref();
  if (!child.pid) throw new Error(`${command} did not start`);
  return child.pid;
}

function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/** The postmaster's pid from its data folder, if it is running. */
export function postmasterPid(layout: HaLayout, name: string): number | undefined {
  try {
    const pid = Number(
      fs.readFileSync(path.join(dataDir(layout, name), 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    return pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The pids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function httpOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}
