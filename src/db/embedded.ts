import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { acquireDataDirLock } from './data-dir-lock';
import type { DataDirLock } from './data-dir-lock';

/**
 * Embedded PostgreSQL: PGlite (PostgreSQL compiled to WebAssembly) behind pglite-socket, so the
 * stock `pg` driver and TypeORM talk to it over loopback exactly as to a real server.
 *
 * PGlite runs one backend: every connection shares its session and a transaction blocks the
 * others until it ends. Code must therefore never wait, inside a transaction, on a query sent on
 * another connection (it would wait forever); services always use the transaction's manager.
 */
export interface EmbeddedPostgres {
  /** postgres:// URL of the socket server on 127.0.0.1. */
  readonly url: string;
  readonly maxConnections: number;
  /** A copy of the whole data directory, as a tarball (PGlite's `dumpDataDir`). */
  dump(): Promise<Blob>;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Folder holding the data and the lock file; undefined keeps everything in memory (tests). */
  readonly dataDir?: string;
  readonly maxConnections: number;
  /**
   * A data directory to start from (a tarball from PGlite's `dumpDataDir`) instead of a new
   * cluster. Only for a database that does not exist yet; the test suite starts each file from
   * a migrated copy this way.
   */
  readonly initialData?: Blob;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  let lock: DataDirLock | undefined;
  let pgDataDir: string | undefined;
  if (options.dataDir) {
    lock = acquireDataDirLock(options.dataDir);
    pgDataDir = path.join(options.dataDir, 'pgdata');
    fs.mkdirSync(options.dataDir, { recursive: true });
  }
  try {
    const db = await PGlite.create(pgDataDir, { loadDataDir: options.initialData });
    const server = new PGLiteSocketServer({
      db,
      host: '127.0.0.1',
      port: 0,
      maxConnections: options.maxConnections,
    });
    await server.start();
    const port = server.getServerConn().split(':').pop();
    return {
      url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
      maxConnections: options.maxConnections,
      dump: () => db.dumpDataDir('none'),
      async stop() {
        try {
          await server.stop();
          await db.close();
        } finally {
          lock?.release();
        }
      },
    };
  } catch (error) {
    lock?.release();
    throw error;
  }
}
