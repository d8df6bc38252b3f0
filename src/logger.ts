import pino from 'pino';

/**
 * Structured JSON logs. Secrets never reach a log line: the redact paths cover tokens and
 * passwords wherever a caller nests them.
 */
export function createLogger(level: string): pino.Logger {
  return pino({
    level,
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
