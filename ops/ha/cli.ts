import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HaCluster } from './cluster';

/**
 * `npm run ha:up`: starts the local HA cluster (ops/ha/cluster.ts) and leaves it running; prints
 * the DATABASE_URL to give the service. `npm run ha:status`: Patroni's view of the members.
 * `npm run ha:down`: stops it and removes its folder. The cluster's state file is found through
 * a pointer in the temporary folder, so one cluster at a time per machine user.
 */

const POINTER = path.join(os.tmpdir(), 'poa-sieve-ha.json');

function current(): HaCluster | undefined {
  if (!fs.existsSync(POINTER)) return undefined;
  const { stateFile } = JSON.parse(fs.readFileSync(POINTER, 'utf8')) as { stateFile: string };
  if (!fs.existsSync(stateFile)) {
    fs.rmSync(POINTER, { force: true });
    return undefined;
  }
  return HaCluster.load(stateFile);
}

async function up(): Promise<void> {
  const running = current();
  if (running) {
    process.stderr.write(`already running in ${running.layout.dir} (npm run ha:down stops it)\n`);
    process.stdout.write(`DATABASE_URL=${running.url()}\n`);
    return;
  }
  const cluster = await HaCluster.start({ log: (line) => process.stderr.write(`${line}\n`) });
  cluster.keep();
  fs.writeFileSync(POINTER, `${JSON.stringify({ stateFile: cluster.stateFile })}\n`);
  process.stderr.write(
    `HA cluster up in ${cluster.layout.dir}: ${(await cluster.members()).map((m) => `${m.name} ${m.role}`).join(', ')}\n` +
      `patronictl: patronictl -c ${path.join(cluster.layout.dir, 'pg1', 'patroni.yml')} list\n`,
  );
  process.stdout.write(`DATABASE_URL=${cluster.url()}\n`);
}

async function status(): Promise<void> {
  const cluster = current();
  if (!cluster) {
    process.stdout.write('no HA cluster running (npm run ha:up starts one)\n');
    return;
  }
  process.stdout.write(`${cluster.layout.dir}\nDATABASE_URL=${cluster.url()}\n`);
  for (const m of await cluster.members()) {
    process.stdout.write(
      `${m.name}\t${m.role}\t${m.state}\ttimeline ${m.timeline ?? '-'}\tlag ${m.lag ?? '-'}\n`,
    );
  }
}

async function down(): Promise<void> {
  const cluster = current();
  if (!cluster) {
    process.stdout.write('no HA cluster running\n');
    return;
  }
  await cluster.stop();
  fs.rmSync(POINTER, { force: true });
  process.stdout.write(`stopped and removed ${cluster.layout.dir}\n`);
}

const commands: Record<string, () => Promise<void>> = { up, down, status };
const command = commands[process.argv[2] ?? ''];
if (!command) {
  process.stderr.write('usage: ops/ha/cli.ts up|status|down\n');
  process.exit(2);
}
command().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
