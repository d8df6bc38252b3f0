import express from 'express';
import type { ErrorRequestHandler, RequestHandler } from 'express';

/**
 * The JSON body parser of /graphql with its size limit (MAX_BODY_BYTES), and the handler that
 * turns what it rejects into GraphQL-shaped JSON errors with a stable code rather than Express's
 * HTML page: over the limit is 413 BAD_USER_INPUT / BODY_TOO_LARGE (with `limit` in bytes), a
 * body that is not JSON is 400 BAD_USER_INPUT / INVALID_JSON, an unsupported encoding or
 * charset is 415 BAD_USER_INPUT / UNSUPPORTED_ENCODING.
 */
export function graphqlJsonBody(limitBytes: number): RequestHandler {
  return express.json({ limit: limitBytes });
}

interface BodyParserError {
  readonly type?: string;
  readonly status?: number;
}

export function bodyErrorHandler(limitBytes: number): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    const type = (error as BodyParserError | null)?.type;
    const reply = (status: number, reason: string, message: string, extra: Record<string, unknown> = {}) => {
      res
        .status(status)
        .json({ errors: [{ message, extensions: { code: 'BAD_USER_INPUT', reason, ...extra } }] });
    };
    if (type === 'entity.too.large') {
      reply(413, 'BODY_TOO_LARGE', `the request body is larger than ${limitBytes} bytes`, {
        limit: limitBytes,
      });
    } else if (type === 'entity.parse.failed') {
      reply(400, 'INVALID_JSON', 'the request body is not valid JSON');
    } else if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      reply(415, 'UNSUPPORTED_ENCODING', 'the request body encoding is not supported');
    } else if (typeof type === 'string') {
      reply((error as BodyParserError).status ?? 400, 'INVALID_BODY', 'the request body could not be read');
    } else {
      next(error);
    }
  };
}
