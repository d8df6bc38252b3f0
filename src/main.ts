import 'reflect-metadata';
import { startApp } from './app';
import { ConfigError, loadConfig, loadEnvFile } from './config';
import { DataDirLockedError } from './db/data-dir-lock';
import { createLogger } from './logger';

/** Start-up only: read the configuration, start the service, stop it gracefully on a signal. */
async function main(): Promise<void> {
  let config;
  let envFile;
  try {
    envFile = loadEnvFile();
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // People at a terminal read lines; everything else (containers, CI, log shippers) gets JSON.
  const log = createLogger(config.logLevel, {
    pretty: process.stdout.isTTY === true && config.nodeEnv !== 'production',
  });
  if (envFile) log.info({ file: envFile }, 'settings read from .env (the environment takes precedence)');
  let app;
  try {
    app = await startApp(config, { log });
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      log.fatal(error.message);
      process.stderr.write(`${error.message}\n`);
      process.exit(3);
    }
    log.fatal({ err: error }, 'start-up failed');
    process.exit(1);
  }
  const running = app;
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownGraceSeconds * 1000);
    force.unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
