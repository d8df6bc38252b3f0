import pino from 'pino';

export interface LoggerOptions {
  /**
   * Human-readable, coloured lines (pino-pretty, in pino's worker thread) instead of JSON: for a
   * terminal only. main.ts turns it on when stdout is a TTY and NODE_ENV is not production.
   */
  readonly pretty?: boolean;
}

/**
 * Structured JSON logs. Secrets never reach a log line: the redact paths cover tokens and
 * passwords wherever a caller nests them (redaction runs before the pretty printer too).
 */
export function createLogger(level: string, options: LoggerOptions = {}): pino.Logger {
  return pino({
    level,
    ...(options.pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
          },
        }
      : {}),
    base: { service: 'poa-sieve' },
    redact: {
      paths: [
        'authorization',
        '*.authorization',
        'headers.authorization',
        'connectionParams.authorization',
        'token',
        '*.token',
        'secret',
        '*.secret',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
  });
}

export type Logger = pino.Logger;
