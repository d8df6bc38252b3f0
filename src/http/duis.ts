import express from 'express';
import type { Request, Response, Router } from 'express';
import type { Principal } from '../auth/principal';
import { bearerToken } from '../auth/tokens';
import type { TokenVerifier } from '../auth/tokens';
import { DomainError, ForbiddenError, UnauthenticatedError } from '../domain/errors';
import type { ErrorCode } from '../domain/errors';
import {
  interpretDocument,
  schemaOf,
  UnsupportedDocumentError,
  WrongNamespaceError,
} from '../ingest/duis-documents';
import type { DuisCommand } from '../ingest/duis-documents';
import { createSchemaValidator } from '../ingest/schema-validator';
import type { SchemaValidator, SchemaViolation } from '../ingest/schema-validator';
import { decodeUtf8, parseXml, XmlDocumentError } from '../ingest/xml';
import type { Logger } from '../logger';
import { classify, publicMessage } from '../schema/errors';
import type { Services } from '../services';
import { validateAlert } from '../services/ingest/alert-input';
import type { FirmwareActivationEntity } from '../entities';

/**
 * POST /duis: DUIS and MMC XML documents (DCC's own formats) onto the same services, roles and
 * idempotency as the GraphQL mutations. The body is read only after the bearer token checks out,
 * parsed without DTDs or entities, matched on namespace and root element, validated against the
 * XSDs when DUIS_SCHEMA_DIR is set, mapped (src/ingest/duis-documents.ts) and handed to the
 * service with the caller's principal. Nothing is written unless the whole document is accepted.
 *
 * Answers are JSON: `{ results: [...] }`, or `{ errors: [{ code, reason, message, ... }] }` with
 * the codes GraphQL uses (a document this service does not act on is 422 BAD_USER_INPUT, with the reason).
 */
export interface DuisSettings {
  /** Folder holding DUIS_Schema_V5.4.xsd, MMC_Schema_V5.4.xsd and xmldsig-core-schema.xsd; no XSD check when unset. */
  readonly schemaDir?: string;
  readonly maxBytes: number;
}

declare module './server' {
  interface HttpServerDeps {
    /** POST /duis settings (config.duis); defaults: no XSD validation, 1 MiB. */
    readonly duis?: DuisSettings;
  }
}

export interface DuisRouterDeps {
  readonly services: Services;
  readonly verifier: TokenVerifier;
  readonly log: Logger;
  readonly duis?: DuisSettings;
}

const DEFAULT_SETTINGS: DuisSettings = { maxBytes: 1024 * 1024 };
const MEDIA_TYPES = ['application/xml', 'text/xml'];

const STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  QUERY_TOO_COMPLEX: 400,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  OVERLOADED: 503,
};

/** A failure answered as JSON with its HTTP status. */
class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly reason: string | undefined,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

/** The roles that have a DUIS document to post. */
const DUIS_ROLES: ReadonlySet<string> = new Set(['OPERATOR', 'IS', 'GS']);

export function createDuisRouter(deps: DuisRouterDeps): Router {
  const settings = deps.duis ?? DEFAULT_SETTINGS;
  // Schema files are read once, here (a missing file stops start-up with its path).
  const validator: SchemaValidator | null = settings.schemaDir
    ? createSchemaValidator(settings.schemaDir)
    : null;
  // Compiled once, in the background from start-up on; a schema that does not compile is said now.
  validator?.ready().then(
    () => deps.log.debug({ dir: validator.dir }, 'DUIS/MMC schemas compiled'),
    (error: unknown) => deps.log.error({ err: error }, 'DUIS/MMC schemas did not compile'),
  );
  const readRaw = express.raw({ type: () => true, limit: settings.maxBytes, inflate: false });
  const readBody = (req: Request, res: Response) =>
    new Promise<Buffer>((resolve, reject) =>
      readRaw(req, res, (error?: unknown) =>
        error ? reject(bodyFailure(error, settings.maxBytes)) : resolve(toBuffer(req.body)),
      ),
    );

  const SR11_3_SENTINEL = new Set(['input.executeAt']);
  const router = express.Router();
  router.post('/', async (req, res) => {
    try {
      if (!req.is(MEDIA_TYPES)) {
        throw new HttpFailure(
          415,
          'BAD_USER_INPUT',
          'UNSUPPORTED_MEDIA_TYPE',
          `POST /duis takes ${MEDIA_TYPES.join(' or ')}, not ${req.headers['content-type'] ?? 'no Content-Type'}`,
        );
      }
      const charset = /;\s*charset="?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
      if (charset && !/^utf-?8$/i.test(charset)) {
        throw new HttpFailure(
          415,
          'BAD_USER_INPUT',
          'UNSUPPORTED_CHARSET',
          `charset ${charset}: only UTF-8 is accepted`,
        );
      }
      const principal = await authenticate(deps.verifier, req.headers.authorization);
      // Who may post is known from the token alone: refuse before reading or parsing a byte.
      if (principal.kind === 'user' && !DUIS_ROLES.has(principal.role)) {
        throw new ForbiddenError(
          `role ${principal.role} may not post DUIS documents (OPERATOR for alerts and verification answers, IS or GS for SR11.3 and its outcome)`,
        );
      }
      const body = await readBody(req, res);

      const text = decodeUtf8(body);
      const root = parseXml(text);
      const schema = schemaOf(root);
      if (validator) {
        const checked = await validator.validate(text, schema);
        if (!checked.valid) throw schemaFailure(schema, checked.violations);
      }
      const command = interpretDocument(root);
      // The same plausible dates as GraphQL; the cancellation date only as an SR11.3's ExecutionDateTime.
      deps.services.inputDates.check(
        command,
        command.document === 'SR11.3_REQUEST' ? SR11_3_SENTINEL : undefined,
      );
      const results = await execute(deps.services, principal, command);
      deps.log.info(
        { document: command.document, subject: principal.kind === 'user' ? principal.subject : null },
        'DUIS document accepted',
      );
      res.status(200).json({ results });
    } catch (error) {
      const failure = toFailure(error);
      if (failure.status >= 500 && failure.code !== 'OVERLOADED')
        deps.log.error({ err: error }, 'POST /duis failed');
      // A retryable refusal says when to come back, as GraphQL's 429 and 503 do.
      const retryAfter =
        failure.details.retryAfterSeconds ?? (failure.code === 'UNAVAILABLE' ? 1 : undefined);
      if (typeof retryAfter === 'number') res.set('retry-after', String(retryAfter));
      res.status(failure.status).json({
        errors: [
          {
            code: failure.code,
            ...(failure.reason ? { reason: failure.reason } : {}),
            message: failure.message,
            ...failure.details,
          },
        ],
      });
    }
  });
  router.all('/', (_req, res) => {
    res
      .status(405)
      .set('allow', 'POST')
      .json({ errors: [{ code: 'BAD_USER_INPUT', reason: 'METHOD_NOT_ALLOWED', message: 'use POST' }] });
  });
  return router;
}

async function authenticate(verifier: TokenVerifier, header: unknown): Promise<Principal> {
  const token = bearerToken(header);
  if (!token) throw new UnauthenticatedError('POST /duis needs "Authorization: Bearer <token>"');
  return verifier.verify(token);
}

/** Runs a command through the service the GraphQL mutation uses, with the caller's principal. */
async function execute(services: Services, principal: Principal, command: DuisCommand): Promise<unknown[]> {
  if (command.action === 'VERIFICATION_ANSWER') {
    // An answer to our own SR 11.2 (active verification): OPERATOR, as for the GraphQL mutation.
    const row = await services.verification.recordAnswer(principal, command.input);
    return [
      {
        document: command.document,
        kind: 'VERIFICATION_ANSWER',
        requestId: row.requestId,
        deviceGuid: row.deviceGuid,
        status: row.status,
        answeredAt: row.answeredAt,
        firmwareVersion: row.firmwareVersion,
      },
    ];
  }
  if (command.action === 'SCHEDULE') {
    const activation = await services.activations.schedule(principal, command.input);
    return [{ document: command.document, kind: 'ACTIVATION', ...activationView(activation) }];
  }
  const alert = command.alert;
  // A supplier reporting its own activation's outcome takes the recordActivationOutcome path
  // (IS/GS, own activations only), where it is recorded as a claim and moves nothing: the answer
  // says so and shows the activation as DCC's evidence left it. Everything else is alert
  // ingestion (OPERATOR).
  if (
    alert.kind === 'ACTIVATION_OUTCOME' &&
    principal.kind === 'user' &&
    (principal.role === 'IS' || principal.role === 'GS')
  ) {
    const valid = validateAlert(alert, 'document');
    if (valid.kind !== 'ACTIVATION_OUTCOME') throw new Error('unreachable');
    const activation = await services.activations.recordOutcome(principal, {
      requestId: valid.requestId,
      outcomeCode: valid.outcomeCode,
      executedAt: valid.executedAt,
      firmwareVersion: valid.firmwareVersion,
    });
    return [{ document: command.document, kind: alert.kind, claim: true, ...activationView(activation) }];
  }
  const [result] = await services.ingest.ingestAlerts(principal, [alert]);
  const { index: _index, ...rest } = result;
  return [{ document: command.document, ...rest }];
}

function activationView(a: FirmwareActivationEntity) {
  return {
    activationId: a.id,
    requestId: a.requestId,
    deviceGuid: a.deviceGuid,
    status: a.status,
    executeAt: a.executeAt,
    requestedAt: a.requestedAt,
    actualExecutedAt: a.actualExecutedAt,
    outcomeCode: a.outcomeCode,
    window: a.windowFrom && a.windowTo ? { from: a.windowFrom, to: a.windowTo } : null,
  };
}

function schemaFailure(schema: 'DUIS' | 'MMC', violations: readonly SchemaViolation[]): HttpFailure {
  const first = violations[0];
  return new HttpFailure(
    400,
    'BAD_USER_INPUT',
    'SCHEMA_INVALID',
    `the document does not validate against the ${schema} schema` +
      (first ? `: ${first.line === null ? '' : `line ${first.line}: `}${first.message}` : ''),
    { schema, violations },
  );
}

function bodyFailure(error: unknown, maxBytes: number): HttpFailure {
  const type = (error as { type?: unknown }).type;
  if (type === 'entity.too.large') {
    return new HttpFailure(
      413,
      'BAD_USER_INPUT',
      'BODY_TOO_LARGE',
      `the body is larger than ${maxBytes} bytes`,
      {
        limit: maxBytes,
      },
    );
  }
  if (type === 'encoding.unsupported') {
    return new HttpFailure(
      415,
      'BAD_USER_INPUT',
      'UNSUPPORTED_CONTENT_ENCODING',
      'compressed bodies are not accepted',
    );
  }
  return new HttpFailure(400, 'BAD_USER_INPUT', 'BODY_UNREADABLE', 'the request body could not be read');
}

function toBuffer(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}

function toFailure(error: unknown): HttpFailure {
  if (error instanceof HttpFailure) return error;
  if (error instanceof XmlDocumentError) {
    return new HttpFailure(400, 'BAD_USER_INPUT', error.reason, error.message, error.details);
  }
  if (error instanceof WrongNamespaceError) {
    return new HttpFailure(400, 'BAD_USER_INPUT', 'WRONG_NAMESPACE', error.message, {
      namespace: error.found.ns,
      element: error.found.local,
    });
  }
  if (error instanceof UnsupportedDocumentError) {
    return new HttpFailure(422, error.code, error.reason, error.message, error.details);
  }
  const known = classify(error);
  if (known) {
    const { reason, ...details } = known.extensions as { reason?: unknown } & Record<string, unknown>;
    const message = error instanceof DomainError ? error.message : publicMessage(known);
    return new HttpFailure(
      STATUS[known.code] ?? 500,
      known.code,
      typeof reason === 'string' ? reason : undefined,
      message,
      details,
    );
  }
  return new HttpFailure(500, 'INTERNAL', undefined, 'Internal server error');
}
