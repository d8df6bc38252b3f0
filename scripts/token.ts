import 'reflect-metadata';
import fs from 'node:fs';
import { Command, Option } from 'commander';
import { embeddedSecretFile } from '../src/auth/secret';
import { mintToken } from '../src/auth/tokens';
import { loadConfig, loadEnvFile } from '../src/config';
import { parseEui64 } from '../src/domain/identifiers';
import { ROLES } from '../src/domain/model';

/**
 * Mints a bearer token for trying the service out, signed with AUTH_JWT_SECRET or, for the
 * embedded database, with the secret the server generated in DATA_DIR.
 *   npm run token -- --role ED --distributor 12
 *   npm run token -- --role IS --supplier 90-B3-D5-1F-30-01-00-00
 *   npm run token -- --role OPERATOR
 */
const program = new Command()
  .name('token')
  .addOption(new Option('--role <role>', 'principal role').choices(ROLES).makeOptionMandatory())
  .option('--distributor <id...>', 'distributor ID(s) for an ED token, e.g. 12')
  .option('--supplier <eui64>', 'supplier party ID for an IS or GS token')
  .option('--subject <name>', 'subject (who the token is for)', 'cli-user')
  .option('--ttl <seconds>', 'lifetime in seconds', '43200')
  .parse();

async function main(): Promise<void> {
  const opts = program.opts<{
    role: (typeof ROLES)[number];
    distributor?: string[];
    supplier?: string;
    subject: string;
    ttl: string;
  }>();
  loadEnvFile();
  const config = loadConfig();
  let secret = config.auth.jwtSecret;
  if (!secret && config.database.kind === 'embedded') {
    const file = embeddedSecretFile(config.database.dataDir);
    if (!fs.existsSync(file)) {
      console.error(
        `No secret yet: start the server once (npm start) so it creates ${file}, or set AUTH_JWT_SECRET.`,
      );
      process.exit(2);
    }
    secret = fs.readFileSync(file, 'utf8').trim();
  }
  if (!secret) {
    console.error(
      'Tokens for a JWKS-configured server come from your identity provider, not from this script.',
    );
    process.exit(2);
  }
  if (opts.role === 'ED' && !opts.distributor?.length) program.error('--role ED needs --distributor');
  if ((opts.role === 'IS' || opts.role === 'GS') && !opts.supplier)
    program.error(`--role ${opts.role} needs --supplier`);
  const token = await mintToken(
    secret,
    {
      subject: opts.subject,
      role: opts.role,
      distributorIds: opts.distributor,
      supplierId: opts.supplier ? parseEui64(opts.supplier) : undefined,
      ttlSeconds: Number(opts.ttl),
      issuer: config.auth.issuer,
      audience: config.auth.audience,
    },
    new Date(),
  );
  process.stdout.write(`${token}\n`);
}

void main();
