import { TEST_SECRET } from '../../support/app';
import { spawnServer } from '../../support/process';
import type { ServerProcess } from '../../support/process';

/**
 * The server processes of one test file: each is `src/main.ts` in its own process (as
 * `npm start` runs it), on a fixed port so a restarted one comes back where clients expect it.
 * `killAll` in afterAll leaves nothing running, whatever the test did.
 */
export class Servers {
  private readonly all: ServerProcess[] = [];

  constructor(private readonly baseEnv: Record<string, string>) {}

  async start(port: number, env: Record<string, string> = {}): Promise<ServerProcess> {
    const server = await spawnServer({
      AUTH_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: 'info', // spawnServer waits for the "listening" line
      SEED_DEMO: 'false',
      NODE_ENV: 'test',
      ...this.baseEnv,
      ...env,
      PORT: String(port),
    });
    this.all.push(server);
    return server;
  }

  /** SIGKILL: no drain, no goodbye, in-flight transactions cut off. */
  async crash(server: ServerProcess): Promise<void> {
    server.child.kill('SIGKILL');
    await server.exited;
  }

  /** SIGTERM and the exit code of the graceful stop. */
  async stop(server: ServerProcess): Promise<number | null> {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return server.child.exitCode;
    server.child.kill('SIGTERM');
    return (await server.exited).code;
  }

  async killAll(): Promise<void> {
    for (const s of this.all)
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    await Promise.all(this.all.map((s) => s.exited));
  }

  /** The lines of a server's log at warn level or above (pino: 40+), for failure messages. */
  static warnings(server: ServerProcess): string[] {
    return server
      .output()
      .split('\n')
      .filter((l) => /"level":(4|5|6)0/.test(l))
      .map((l) => l.slice(0, 600));
  }
}
