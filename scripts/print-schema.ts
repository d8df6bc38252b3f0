import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { createInProcessPubSub } from '../src/realtime/pubsub';
import { buildAppSchema, printAppSchema } from '../src/schema/build';

/**
 * Writes the subgraph SDL (what `_service { sdl }` returns) to schema.graphql, or with --check
 * exits 1 when the checked-in file differs from what the code builds.
 */
async function main(): Promise<void> {
  const file = path.resolve(__dirname, '..', 'schema.graphql');
  const sdl = printAppSchema(await buildAppSchema(createInProcessPubSub().pubSub));
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (current !== sdl) {
      console.error('schema.graphql is out of date: run `npm run schema:print`');
      process.exit(1);
    }
    console.log('schema.graphql is up to date');
    return;
  }
  fs.writeFileSync(file, sdl);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

void main();
