import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../support/consumer';

/**
 * A PostgreSQL server of one test's own, so the test can stop it, start it again and kill its
 * connections without touching the shared server: `initdb` into a temporary folder, `pg_ctl`
 * on a free port, listening on 127.0.0.1 only, with its unix socket in the same folder.
 *
 * PostgreSQL refuses to run as root. When the tests run as root (CI, containers), initdb and
 * pg_ctl run as the `postgres` user through runuser, and the folder is handed to that user.
 */
export class TempCluster {
  private started = false;
  private removed = false;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly asUser: string | undefined,
  ) {}

  /** Creates and starts a cluster; `stop` + `destroy` (or `destroy` alone) remove it. */
  static async create(): Promise<TempCluster> {
    const bin = postgresBinDir();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poa-faults-pg-'));
    const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
    if (asUser) execFileSync('chown', ['-R', `${asUser}:`, dir]);
    const cluster = new TempCluster(dir, await freePort(), bin, asUser);
    LIVE.add(cluster);
    try {
      await cluster.run('initdb', [
        '-D',
        cluster.dataDir,
        '-U',
        'postgres',
        '-A',
        'trust',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ]);
      await cluster.start();
    } catch (error) {
      cluster.destroySync();
      throw error;
    }
    return cluster;
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  /** A connection URL for a database on this cluster. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async createDatabase(name: string): Promise<string> {
    const admin = new Client({ connectionString: this.url() });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return this.url(name);
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      `-c listen_addresses=127.0.0.1`,
      // A throw-away cluster: durability is not what these tests are about, speed is.
      `-c fsync=off`,
      `-c synchronous_commit=off`,
      `-c full_page_writes=off`,
      `-c max_connections=60`,
    ].join(' ');
    await this.run('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      path.join(this.dir, 'server.log'),
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    this.started = true;
  }

  /** `pg_ctl stop -m fast`: every session is ended at once, as in a database failover or restart. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.run('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
    this.started = false;
  }

  /**
   * Ends the backends of the application's connections (`pg_terminate_backend`), as an
   * administrator or a failing proxy would. Returns how many were ended.
   */
  async terminate(where: string): Promise<number> {
    const admin = new Client({ connectionString: this.url() });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (${where})`,
      );
      return rows.filter((r) => r.ended).length;
    } finally {
      await admin.end();
    }
  }

  /** The server's log, for failure messages. */
  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'server.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Stops the server (if running) and deletes the folder. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.removed) return;
    if (this.started || fs.existsSync(path.join(this.dataDir, 'postmaster.pid'))) {
      await this.stop('immediate').catch(() => undefined);
    }
    this.remove();
  }

  /** The same, synchronously: for process exit, when nothing asynchronous runs any more. */
  destroySync(): void {
    if (this.removed) return;
    if (fs.existsSync(path.join(this.dataDir, 'postmaster.pid'))) {
      try {
        execFileSync(...this.command('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']), {
          stdio: 'ignore',
        });
      } catch {
        /* already stopped */
      }
    }
    this.remove();
  }

  private remove(): void {
    this.removed = true;
    LIVE.delete(this);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private command(tool: string, args: string[]): [string, string[]] {
    const exe = path.join(this.bin, tool);
    return this.asUser ? ['runuser', ['-u', this.asUser, '--', exe, ...args]] : [exe, args];
  }

  private run(tool: string, args: string[]): Promise<void> {
    const [file, argv] = this.command(tool, args);
    return new Promise((resolve, reject) => {
      execFile(file, argv, { timeout: 90_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${tool} failed: ${error.message}\n${stdout}\n${stderr}\n${this.log()}`));
        else resolve();
      });
    });
  }
}

/** Clusters not yet removed: stopped and deleted on exit, even when a test dies half-way. */
const LIVE = new Set<TempCluster>();
process.once('exit', () => {
  for (const cluster of [...LIVE]) cluster.destroySync();
});

/** The newest installed PostgreSQL's server binaries (Debian: /usr/lib/postgresql/<ver>/bin), or those on PATH. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length) return path.join(root, versions[0], 'bin');
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'initdb'))) return dir;
  }
  throw new Error('initdb not found: install the PostgreSQL server (apt-get install postgresql)');
}
