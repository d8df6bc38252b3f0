/* global self, document, URL, Worker */
/**
 * Monaco (GraphiQL 5's editor) runs its language services in web workers. They are bundled by
 * scripts/build-graphiql.js as separate files next to graphiql.js and loaded from our own origin,
 * so the page needs no CDN (graphiql's own `setup-workers/esm.sh` would fetch them from esm.sh).
 * Imported first by index.mjs, before anything creates an editor.
 */
const script = document.currentScript;
const assets = new URL('.', script ? script.src : document.baseURI + 'graphiql/assets/');

const WORKERS = { json: 'json.worker.js', graphql: 'graphql.worker.js' };

self.MonacoEnvironment = {
  getWorker(_workerId, label) {
    return new Worker(new URL(WORKERS[label] ?? 'editor.worker.js', assets), { name: label });
  },
};
