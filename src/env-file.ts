import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { ConfigError } from './config-error';

/**
 * Loads `.env` (default: in the working directory) into `env` (process.env) before loadConfig
 * runs, parsed the way `node --env-file` parses it, but only when the file exists and never over
 * a variable that is already set: the real environment wins. Returns the file it loaded, if any.
 */
export function loadEnvFile(
  file = path.resolve('.env'),
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`Invalid configuration:\n  ${file}: ${(error as Error).message}`);
  }
  for (const [name, value] of Object.entries(util.parseEnv(text))) {
    if (env[name] === undefined && value !== undefined) env[name] = value;
  }
  return file;
}
