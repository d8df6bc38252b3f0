import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';

/**
 * The HS256 secret in force. Configured secrets win. Only the embedded database mode, meant for
 * trying the service out, may fall back to a secret generated once and kept in DATA_DIR
 * (config validation already refuses a real DATABASE_URL without a secret or JWKS).
 */
export function resolveJwtSecret(config: Config): { secret?: string; generatedAt?: string } {
  if (config.auth.jwtSecret) return { secret: config.auth.jwtSecret };
  if (config.auth.jwksUrl) return {};
  if (config.database.kind !== 'embedded') {
    throw new Error('AUTH_JWT_SECRET or AUTH_JWKS_URL is required outside embedded mode');
  }
  const file = embeddedSecretFile(config.database.dataDir);
  try {
    return { secret: fs.readFileSync(file, 'utf8').trim() };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const secret = crypto.randomBytes(32).toString('base64url');
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return { secret, generatedAt: file };
}

export function embeddedSecretFile(dataDir: string): string {
  return path.join(dataDir, 'jwt-secret');
}
