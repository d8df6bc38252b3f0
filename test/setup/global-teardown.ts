import fs from 'node:fs';
import { PGLITE_TEMPLATE_ENV } from '../support/database';

/** Removes the PGlite template of global setup; each test file drops its own database. */
export default async function globalTeardown(): Promise<void> {
  const file = process.env[PGLITE_TEMPLATE_ENV];
  if (file) fs.rmSync(file, { force: true });
}
