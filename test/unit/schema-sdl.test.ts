import fs from 'node:fs';
import path from 'node:path';
import { createInProcessPubSub } from '../../src/realtime/pubsub';
import { buildAppSchema, printAppSchema } from '../../src/schema/build';

// The checked-in SDL is what other teams compose against: it must be exactly what the code serves.
test('schema.graphql matches the schema the code builds (run `npm run schema:print` after a change)', async () => {
  const built = printAppSchema(await buildAppSchema(createInProcessPubSub().pubSub));
  const checkedIn = fs.readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
  expect(checkedIn).toBe(built);
});

test('every public type and field in the schema has a description', async () => {
  const sdl = printAppSchema(await buildAppSchema(createInProcessPubSub().pubSub));
  const { buildSchema, isObjectType, isInputObjectType } = await import('graphql');
  // Federation's own types (_Service, link__*) are Apollo's; only ours must be described.
  const schema = buildSchema(sdl.replace(/@link\([^)]*\)/g, '').replace(/extend schema\s*/g, ''), {
    assumeValid: true,
  });
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('_') || type.name.startsWith('link__') || type.name.startsWith('federation__'))
      continue;
    if (!isObjectType(type) && !isInputObjectType(type)) continue;
    if (['Query', 'Mutation', 'Subscription'].includes(type.name)) {
      for (const field of Object.values(type.getFields())) {
        if (!field.name.startsWith('_') && !field.description) missing.push(`${type.name}.${field.name}`);
      }
      continue;
    }
    if (!type.description) missing.push(type.name);
    if (isObjectType(type)) {
      for (const field of Object.values(type.getFields()))
        if (!field.description) missing.push(`${type.name}.${field.name}`);
    }
  }
  expect(missing).toEqual([]);
});
