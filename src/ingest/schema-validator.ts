import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * XSD validation of DUIS and MMC documents with libxml2 (libxml2-wasm), compiled once.
 *
 * The schema files are read here, once, when the validator is created (a missing one throws
 * with its path). A worker thread compiles them a single time, from memory: DUIS_Schema_V5.4.xsd
 * imports xmldsig-core-schema.xsd and MMC_Schema_V5.4.xsd, which libxml2 reads from an in-memory
 * input provider that knows those three names and nothing else, so it has no file system and no
 * network to reach. MMC documents validate against MMC_Schema_V5.4.xsd alone. Each document is
 * then parsed (no entity substitution, no external DTD or entity loading) and checked against the
 * compiled schema: well under a millisecond for an alert, against 150-250 ms when the schemas
 * were compiled per document. Documents reach the validator only after the DOCTYPE check.
 *
 * The worker keeps the (synchronous) WebAssembly work off the event loop. It starts compiling at
 * once; documents sent before it is ready wait for it. Should it die (out of memory, a libxml2
 * abort), the documents in flight fail and the next one starts a fresh worker.
 */
export const SCHEMA_FILES = {
  duis: 'DUIS_Schema_V5.4.xsd',
  mmc: 'MMC_Schema_V5.4.xsd',
  xmldsig: 'xmldsig-core-schema.xsd',
} as const;

export type SchemaKind = 'DUIS' | 'MMC';

export interface SchemaViolation {
  /** Line in the posted document, when libxml2 gave one. */
  readonly line: number | null;
  readonly message: string;
}

export interface SchemaValidationResult {
  readonly valid: boolean;
  readonly violations: readonly SchemaViolation[];
}

export interface SchemaValidator {
  readonly dir: string;
  validate(xml: string, kind: SchemaKind): Promise<SchemaValidationResult>;
  /** Resolves once the schemas are compiled (rejects if they do not compile). */
  ready(): Promise<void>;
  /** Stops the worker; a later validate() starts a new one. */
  close(): Promise<void>;
}

/** The name the document has inside libxml2; its messages and line numbers refer to it. */
const DOCUMENT = 'document.xml';
const MAX_VIOLATIONS = 20;

/**
 * The worker's code (plain JavaScript, run with `eval`: it needs no build step and loads the
 * ES module libxml2-wasm with Node's own import(), outside any test sandbox or transpiler).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { moduleUrl, files, entries, document, maxViolations } = workerData;

function violationsOf(error) {
  const details = Array.isArray(error && error.details) ? error.details : [];
  const mine = details
    .filter((d) => d.file === document || d.file === undefined || d.file === null)
    .slice(0, maxViolations)
    .map((d) => ({ line: typeof d.line === 'number' && d.line > 0 ? d.line : null, message: String(d.message).trim() }));
  if (mine.length) return mine;
  const message = String((error && error.message) || 'the document is not valid').trim().slice(0, 500);
  return [{ line: null, message }];
}

async function main() {
  const lib = await import(moduleUrl);
  const { XmlDocument, XsdValidator, XmlBufferInputProvider, xmlRegisterInputProvider, ParseOption } = lib;
  const buffers = {};
  for (const [name, text] of Object.entries(files)) buffers[name] = new TextEncoder().encode(text);
  // libxml2 resolves xs:import schemaLocation through this provider: these names, nothing else.
  xmlRegisterInputProvider(new XmlBufferInputProvider(buffers));
  const validators = {};
  for (const [kind, name] of Object.entries(entries)) {
    // The schema document stays alive as long as the compiled schema that was parsed from it.
    const schemaDoc = XmlDocument.fromBuffer(buffers[name], { url: name });
    validators[kind] = XsdValidator.fromDoc(schemaDoc);
  }
  const option = ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE;

  const validate = (xml, kind) => {
    let doc;
    try {
      doc = XmlDocument.fromString(xml, { url: document, option });
    } catch (error) {
      return { valid: false, violations: violationsOf(error) };
    }
    try {
      validators[kind].validate(doc);
      return { valid: true, violations: [] };
    } catch (error) {
      return { valid: false, violations: violationsOf(error) };
    } finally {
      doc.dispose();
    }
  };

  parentPort.on('message', ({ id, xml, kind }) => {
    try {
      parentPort.postMessage({ id, result: validate(xml, kind) });
    } catch (error) {
      parentPort.postMessage({ id, error: String((error && error.message) || error) });
    }
  });
  parentPort.postMessage({ ready: true });
}

main().catch((error) => parentPort.postMessage({ failed: String((error && error.stack) || error) }));
`;

interface Pending {
  resolve(result: SchemaValidationResult): void;
  reject(error: Error): void;
}

type WorkerMessage =
  | { ready: true }
  | { failed: string }
  | { id: number; result: SchemaValidationResult }
  | { id: number; error: string };

/** Reads the three schema files from `dir` (throws naming the missing file) and returns a validator. */
export function createSchemaValidator(dir: string): SchemaValidator {
  const read = (name: string): string => {
    const file = path.join(dir, name);
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`DUIS_SCHEMA_DIR: cannot read ${file}: ${(error as Error).message}`);
    }
  };
  const files = {
    [SCHEMA_FILES.duis]: read(SCHEMA_FILES.duis),
    [SCHEMA_FILES.mmc]: read(SCHEMA_FILES.mmc),
    [SCHEMA_FILES.xmldsig]: read(SCHEMA_FILES.xmldsig),
  };
  const workerData = {
    moduleUrl: pathToFileURL(require.resolve('libxml2-wasm')).href,
    files,
    entries: { DUIS: SCHEMA_FILES.duis, MMC: SCHEMA_FILES.mmc },
    document: DOCUMENT,
    maxViolations: MAX_VIOLATIONS,
  };

  let worker: Worker | undefined;
  let compiled: Promise<void> = Promise.resolve();
  const pending = new Map<number, Pending>();
  let nextId = 1;

  const start = (): Worker => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData });
    // Idle, the worker must not keep the process alive; while documents wait on it, it does.
    w.unref();
    compiled = new Promise<void>((resolve, reject) => {
      w.on('message', (message: WorkerMessage) => {
        if ('ready' in message) return resolve();
        if ('failed' in message) {
          reject(new Error(`DUIS schemas did not compile: ${message.failed}`));
          void w.terminate();
          return;
        }
        const waiting = pending.get(message.id);
        if (!waiting) return;
        pending.delete(message.id);
        if (pending.size === 0) w.unref();
        if ('result' in message) waiting.resolve(message.result);
        else waiting.reject(new Error(`schema validation failed: ${message.error}`));
      });
      const fail = (error: Error) => {
        reject(error);
        if (worker !== w) return; // an old worker, closed or replaced: not its documents
        worker = undefined;
        for (const waiting of pending.values()) waiting.reject(error);
        pending.clear();
      };
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`the schema validation worker exited (${code})`)));
    });
    // A compile failure is reported to whoever validates next; not an unhandled rejection now.
    compiled.catch(() => undefined);
    return w;
  };
  worker = start();

  return {
    dir,
    async validate(xml, kind) {
      const w = worker ?? (worker = start());
      await compiled;
      if (worker !== w) throw new Error('the schema validation worker stopped');
      const id = nextId++;
      return new Promise<SchemaValidationResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        if (pending.size === 1) w.ref();
        w.postMessage({ id, xml, kind });
      });
    },
    ready: () => compiled,
    async close() {
      const w = worker;
      worker = undefined;
      if (w) await w.terminate();
    },
  };
}
