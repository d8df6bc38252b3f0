import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { createInProcessPubSub } from '../src/realtime/pubsub';
import { buildAppSchema, printAppSchema } from '../src/schema/build';

/**
 * Composes this subgraph (built from the code, as `npm run schema:print` does) with the subgraph
 * SDL files given as arguments, and prints the supergraph SDL; exits 1 with the composition
 * errors when they do not compose. Composition hints go to stderr.
 *   npm run supergraph                                   (ours alone)
 *   npm run supergraph -- field-work.graphql > supergraph.graphql
 *   SUBGRAPH_URL=https://poa-sieve.example/graphql npm run supergraph -- other.graphql
 * Each file's subgraph is named after the file (field-work.graphql -> field-work); its routing
 * URL is a placeholder to replace in your router's configuration. Set ours with SUBGRAPH_URL.
 */
async function main(): Promise<void> {
  const files = process.argv.slice(2);
  const ours = printAppSchema(await buildAppSchema(createInProcessPubSub().pubSub));
  const services = [
    {
      name: 'poa-sieve',
      url: process.env.SUBGRAPH_URL ?? 'http://localhost:4000/graphql',
      typeDefs: parse(ours),
    },
  ];
  for (const file of files) {
    const name = path.basename(file).replace(/\.[^.]*$/, '');
    let typeDefs;
    try {
      typeDefs = parse(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      console.error(`${file}: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
    services.push({ name, url: `http://${name}.invalid/graphql`, typeDefs });
  }
  const result = composeServices(services);
  if (result.errors) {
    console.error(`Composition failed (${services.map((s) => s.name).join(' + ')}):`);
    for (const error of result.errors) {
      const code = (error.extensions?.code as string | undefined) ?? 'ERROR';
      console.error(`  ${code}: ${error.message}`);
    }
    process.exit(1);
  }
  for (const hint of result.hints) console.error(`hint ${hint.definition.code}: ${hint.message}`);
  process.stdout.write(
    result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`,
  );
}

void main();
