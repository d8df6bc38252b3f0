/* global module */ // CommonJS: eslint.config.mjs declares CommonJS globals for *.js files only.
// Dependency rules for src/, checked by `npm run deps` (part of `npm run lint`, so of CI).
//
// 1. No import cycles in src/, type-only imports included (tsPreCompilationDeps).
// 2. Layers: a module may import its own layer and the layers below it, never one above. Folders
//    on one line are one layer and may import each other (cycles between them are still caught by
//    rule 1). Top to bottom:
const LAYERS = [
  // The programs: nothing in src/ imports them (scripts/simulate.ts starts the simulator).
  { name: 'entry', paths: ['^src/main\\.ts$', '^src/sim/'] },
  { name: 'app', paths: ['^src/app\\.ts$'] },
  // What app.ts wires: the HTTP server and the demo dataset.
  { name: 'http', paths: ['^src/http/', '^src/demo/'] },
  // Used by http/ and app.ts. schema/build.ts assembles the schema from the resolvers, so it sits
  // above them, apart from the rest of src/schema/ (which the resolvers import).
  { name: 'composition', paths: ['^src/metrics\\.ts$', '^src/schema/build\\.ts$'] },
  { name: 'resolvers', paths: ['^src/resolvers/'] },
  // schema/context.ts imports loaders/; ingest/ (DUIS parsing) is used by http/ and the resolvers.
  { name: 'schema', paths: ['^src/schema/(?!build\\.ts$)', '^src/loaders/', '^src/ingest/'] },
  { name: 'services', paths: ['^src/services/'] },
  // db/data-source.ts imports entities/.
  { name: 'infrastructure', paths: ['^src/db/', '^src/entities/', '^src/realtime/', '^src/auth/'] },
  // Leaf modules: config.ts imports only src/domain (and config-tracing.ts); tracing-sdk.ts only the
  // tracing leaves; the others nothing from src/.
  {
    name: 'leaves',
    paths: ['^src/(config|config-tracing|clock|logger|semaphore|tracing|tracing-sdk)\\.ts$'],
  },
  { name: 'domain', paths: ['^src/domain/'] },
];

// 3. Inside src/services/, sub-folders bottom first: each may import its own folder and the folders
//    before it in this list, nothing else in src/services/ (not index.ts, not a later folder).
//    src/services/index.ts, the wiring, may import all of them.
const SERVICE_FOLDERS = [
  'shared',
  'inventory',
  'evidence',
  'delivery',
  'alerts',
  'activations',
  'verification',
  'ingest',
  'operations',
];

const layerRules = LAYERS.slice(1).map((layer, i) => ({
  name: `layer-${layer.name}`,
  severity: 'error',
  comment: `src layering: ${layer.name} must not import a layer above it (${LAYERS.slice(0, i + 1)
    .map((l) => l.name)
    .join(', ')}).`,
  from: { path: layer.paths },
  to: { path: LAYERS.slice(0, i + 1).flatMap((l) => l.paths) },
}));

const serviceFolderRules = SERVICE_FOLDERS.map((folder, i) => ({
  name: `services-${folder}`,
  severity: 'error',
  comment:
    `src/services/${folder}/ may import only ${SERVICE_FOLDERS.slice(0, i + 1).join(', ')} ` +
    'within src/services/ (folders below it, and not the wiring in index.ts).',
  from: { path: `^src/services/${folder}/` },
  to: {
    path: '^src/services/',
    pathNot: `^src/services/(${SERVICE_FOLDERS.slice(0, i + 1).join('|')})/`,
  },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'This import is part of a cycle (type-only imports count).',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'src/domain/ imports nothing from the rest of src/.',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    ...layerRules,
    ...serviceFolderRules,
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // Type-only imports (`import type`) are dependencies too: they are how layers leak.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
