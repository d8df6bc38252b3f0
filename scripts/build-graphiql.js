/**
 * Bundles the GraphiQL page (graphiql/index.mjs) with esbuild into dist/graphiql, so /graphiql
 * works offline: graphiql.js + graphiql.css for the page, and Monaco's three web workers
 * (editor, JSON, GraphQL) as separate files loaded from the same origin.
 *   node scripts/build-graphiql.js        (npm run build:graphiql; also run by prestart and build)
 * Exports buildGraphiql() for tests.
 */
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const esbuild = require('esbuild');

const ROOT = path.resolve(__dirname, '..');
const OUT_DIR = path.join(ROOT, 'dist', 'graphiql');

const common = {
  bundle: true,
  minify: true,
  legalComments: 'none',
  target: ['es2022'],
  platform: 'browser',
  format: 'iife',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
  absWorkingDir: ROOT,
};

/**
 * graphiql/style.css already holds Monaco's CSS (and its codicon font as a data: URL); the CSS
 * files that Monaco's own modules import would only add a second copy of it.
 */
const skipMonacoCss = {
  name: 'skip-monaco-css',
  setup(build) {
    build.onResolve({ filter: /\.css$/ }, (args) =>
      /[\\/]node_modules[\\/]monaco-editor[\\/]/.test(args.importer)
        ? { path: args.path, namespace: 'skip-monaco-css' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'skip-monaco-css' }, () => ({ contents: '', loader: 'css' }));
  },
};

/** Builds dist/graphiql; returns the output files and their sizes in bytes. */
async function buildGraphiql(finalDir = OUT_DIR) {
  // Built aside and swapped in, so a running server never serves a half-written bundle.
  const outDir = `${finalDir}.tmp-${process.pid}`;
  fs.rmSync(outDir, { recursive: true, force: true });
  await esbuild.build({
    ...common,
    entryPoints: { graphiql: path.join(ROOT, 'graphiql', 'index.mjs') },
    outdir: outDir,
    plugins: [skipMonacoCss],
  });
  await esbuild.build({
    ...common,
    entryPoints: {
      'editor.worker': require.resolve('monaco-editor/esm/vs/editor/editor.worker.js'),
      'json.worker': require.resolve('monaco-editor/esm/vs/language/json/json.worker.js'),
      'graphql.worker': require.resolve('monaco-graphql/esm/graphql.worker.js'),
    },
    outdir: outDir,
  });
  // Pre-compressed copies, served to clients that accept gzip (src/http/graphiql.ts).
  for (const file of fs.readdirSync(outDir)) {
    const full = path.join(outDir, file);
    fs.writeFileSync(`${full}.gz`, zlib.gzipSync(fs.readFileSync(full), { level: 9 }));
  }
  fs.rmSync(finalDir, { recursive: true, force: true });
  fs.renameSync(outDir, finalDir);
  return fs
    .readdirSync(finalDir)
    .sort()
    .map((file) => ({ file: path.join(finalDir, file), bytes: fs.statSync(path.join(finalDir, file)).size }));
}

module.exports = { buildGraphiql, OUT_DIR };

if (require.main === module) {
  const started = Date.now();
  buildGraphiql().then(
    (files) => {
      for (const { file, bytes } of files) {
        console.log(`${path.relative(ROOT, file).padEnd(40)} ${(bytes / 1024).toFixed(0).padStart(6)} KiB`);
      }
      console.log(`GraphiQL bundled in ${Date.now() - started} ms`);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
