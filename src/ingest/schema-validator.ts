import fs from 'node:fs';
import path from 'node:path';
import { validateXML } from 'xmllint-wasm';
import type { XMLFileInfo } from 'xmllint-wasm';

/**
 * XSD validation of DUIS and MMC documents with libxml2 (xmllint-wasm, in a worker thread).
 *
 * The schema files are read once, when the validator is created, and handed to every run from
 * memory: DUIS_Schema_V5.4.xsd imports xmldsig-core-schema.xsd and MMC_Schema_V5.4.xsd (both
 * preloaded into the worker's in-memory file system); MMC documents validate against
 * MMC_Schema_V5.4.xsd alone. The worker has no network and no host file system, and documents
 * reach it only after the DOCTYPE check, so validation cannot fetch anything either.
 *
 * Each run compiles the schemas afresh (xmllint-wasm offers no compiled-schema cache; about
 * 150-250 ms); runs are limited to a few at a time so a burst queues instead of spawning a
 * worker (and 32 MiB of WebAssembly memory) per request.
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
}

/** The name the document has inside the validator; it prefixes libxml2's messages. */
const DOCUMENT = 'document.xml';
const MAX_VIOLATIONS = 20;

/** Reads the three schema files from `dir` (throws naming the missing file) and returns a validator. */
export function createSchemaValidator(dir: string, concurrency = 2): SchemaValidator {
  const read = (name: string): XMLFileInfo => {
    const file = path.join(dir, name);
    try {
      return { fileName: name, contents: fs.readFileSync(file, 'utf8') };
    } catch (error) {
      throw new Error(`DUIS_SCHEMA_DIR: cannot read ${file}: ${(error as Error).message}`);
    }
  };
  const duis = read(SCHEMA_FILES.duis);
  const mmc = read(SCHEMA_FILES.mmc);
  const xmldsig = read(SCHEMA_FILES.xmldsig);
  const limit = semaphore(concurrency);

  return {
    dir,
    async validate(xml, kind) {
      const result = await limit(() =>
        validateXML({
          xml: [{ fileName: DOCUMENT, contents: xml }],
          schema: [kind === 'DUIS' ? duis : mmc],
          preload: kind === 'DUIS' ? [xmldsig, mmc] : [],
        }),
      );
      if (result.valid) return { valid: true, violations: [] };
      const violations = result.errors
        // libxml2 echoes the offending source line and a caret under it: keep only the messages.
        .filter((e) => e.loc !== null && e.loc.fileName === DOCUMENT)
        .slice(0, MAX_VIOLATIONS)
        .map((e) => ({ line: e.loc?.lineNumber ?? null, message: e.message }));
      return {
        valid: false,
        violations: violations.length
          ? violations
          : [{ line: null, message: result.rawOutput.trim().slice(0, 500) || 'the document is not valid' }],
      };
    },
  };
}

/** Runs at most `n` tasks at once; the rest wait in arrival order. */
function semaphore(n: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}
