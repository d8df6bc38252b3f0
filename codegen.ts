import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the consumer examples (docs/examples/consumer/*.graphql), from the checked-in
 * schema: `npm run codegen` writes test/support/generated/operations.ts, which
 * test/support/dno-client.ts (the code docs/CONSUMERS.md shows) imports. test/unit/codegen.test.ts
 * fails when the file is not what the schema and documents generate.
 */
const config: CodegenConfig = {
  // The subgraph SDL, with the Federation directives it uses declared for a plain GraphQL reader.
  schema: ['schema.graphql', 'docs/examples/consumer/federation-directives.graphql'],
  documents: ['docs/examples/consumer/*.graphql', '!docs/examples/consumer/federation-directives.graphql'],
  generates: {
    'test/support/generated/operations.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        // The schema's custom scalars travel as strings.
        scalars: {
          DateTime: 'string',
          EUI64: 'string',
          MPAN: 'string',
          JSONObject: 'Record<string, unknown>',
        },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
