import { SignJWT, createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { ROLES } from '../domain/model';
import { UnauthenticatedError } from '../domain/errors';
import type { Principal } from './principal';

/**
 * Bearer tokens: HS256 with a shared secret, or any JWS algorithm the JWKS publishes. Claims:
 *   sub              who (free text, for the audit trail)
 *   role             ED | IS | GS | OPERATOR
 *   distributor_ids  for ED: the two-digit distributor IDs it operates
 *   supplier_id      for IS/GS: the supplier's EUI-64 party ID
 * exp is required (a token that never expires cannot be withdrawn) and its lifetime, exp - iat,
 * bounded by maxLifetimeSeconds; nbf is enforced when present; iss and aud when configured.
 */
const claimsSchema = z
  .object({
    sub: z.string().min(1).max(200),
    role: z.enum(ROLES),
    distributor_ids: z
      .array(z.string().regex(/^[0-9]{2}$/))
      .max(64)
      .optional(),
    supplier_id: z
      .string()
      .regex(/^[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}$/)
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (c.role === 'ED' && !c.distributor_ids?.length) {
      ctx.addIssue({ code: 'custom', message: 'an ED token needs distributor_ids' });
    }
    if ((c.role === 'IS' || c.role === 'GS') && !c.supplier_id) {
      ctx.addIssue({ code: 'custom', message: `an ${c.role} token needs supplier_id` });
    }
  });

export interface TokenSettings {
  readonly secret?: string;
  readonly jwksUrl?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** The longest lifetime (exp - iat, or exp - now without iat) accepted; 0 or unset: no maximum. */
  readonly maxLifetimeSeconds?: number;
  /** The service clock: exp and nbf are judged by it, as the WebSocket expiry re-check is (default: wall time). */
  readonly now?: () => Date;
}

export interface TokenVerifier {
  /** Verifies a raw token (without "Bearer ") and returns the principal, or throws UnauthenticatedError. */
  verify(token: string): Promise<Principal>;
}

export function createTokenVerifier(settings: TokenSettings): TokenVerifier {
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[] | undefined;
  if (settings.jwksUrl) {
    key = createRemoteJWKSet(new URL(settings.jwksUrl));
  } else if (settings.secret) {
    key = new TextEncoder().encode(settings.secret);
    algorithms = ['HS256'];
  } else {
    throw new Error('A token verifier needs a secret or a JWKS URL');
  }
  // Tokens verified lately: a signature check (HMAC through WebCrypto, or a JWKS key) was 7% of
  // the server's time for single-alert ingest, for the same few tokens again and again. A hit is
  // still refused once the token expires (or before its nbf); entries last at most a minute, so a
  // key withdrawn from the JWKS stops working within it.
  const verified = new Map<string, { principal: Principal; expMs: number; nbfMs: number; until: number }>();
  const nowMs = () => (settings.now?.() ?? new Date()).getTime();
  return {
    async verify(token) {
      const hit = verified.get(token);
      if (hit && performance.now() < hit.until) {
        const now = nowMs();
        if (now < hit.expMs && now >= hit.nbfMs) return hit.principal;
      }
      verified.delete(token);
      const principal = await verifyNow(token);
      const exp = principal.kind === 'user' ? principal.expiresAt?.getTime() : undefined;
      if (exp !== undefined) {
        if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value!);
        verified.set(token, {
          principal,
          expMs: exp,
          nbfMs: notBefore(token),
          until: performance.now() + 60_000,
        });
      }
      return principal;
    },
  };

  async function verifyNow(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      const options = {
        algorithms,
        issuer: settings.issuer,
        audience: settings.audience,
        currentDate: settings.now?.(),
        requiredClaims: ['exp'],
      };
      // jwtVerify has separate overloads for a key and a key resolver.
      payload =
        key instanceof Uint8Array
          ? (await jwtVerify(token, key, options)).payload
          : (await jwtVerify(token, key, options)).payload;
    } catch (error) {
      throw new UnauthenticatedError(describeJoseError(error));
    }
    const max = settings.maxLifetimeSeconds ?? 0;
    if (max > 0 && typeof payload.exp === 'number') {
      const issuedAt =
        typeof payload.iat === 'number'
          ? payload.iat
          : Math.floor((settings.now?.() ?? new Date()).getTime() / 1000);
      if (payload.exp - issuedAt > max) {
        throw new UnauthenticatedError(`token lifetime exceeds the maximum of ${max} seconds`);
      }
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) {
      throw new UnauthenticatedError(`token claims are invalid: ${claims.error.issues[0]?.message ?? ''}`);
    }
    const c = claims.data;
    return {
      kind: 'user',
      subject: c.sub,
      role: c.role,
      distributorIds: c.role === 'ED' ? [...new Set(c.distributor_ids)].sort() : [],
      supplierId: c.role === 'IS' || c.role === 'GS' ? c.supplier_id?.toUpperCase() : undefined,
      expiresAt: typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : undefined,
    };
  }
}

/** Verified tokens kept (the oldest go first). */
const VERIFIED_TOKENS = 1_000;

/** A verified token's nbf in epoch ms (0 without one): the payload is read again, not trusted anew. */
function notBefore(token: string): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as JWTPayload;
    return typeof payload.nbf === 'number' ? payload.nbf * 1000 : 0;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed && error.reason === 'missing')
    return `token has no "${error.claim}" claim`;
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `token claim "${error.claim}" is not acceptable`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  return 'token is invalid';
}

/** Extracts the token from an `Authorization: Bearer ...` value; undefined when absent. */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
  if (!match) throw new UnauthenticatedError('Authorization must be "Bearer <token>"');
  return match[1];
}

export interface TokenClaims {
  readonly subject: string;
  readonly role: (typeof ROLES)[number];
  readonly distributorIds?: readonly string[];
  readonly supplierId?: string;
  readonly ttlSeconds: number;
  readonly issuer?: string;
  readonly audience?: string;
}

/** Mints an HS256 token (for `npm run token` and tests). */
export async function mintToken(secret: string, claims: TokenClaims, now: Date): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  let jwt = new SignJWT({
    role: claims.role,
    ...(claims.distributorIds ? { distributor_ids: [...claims.distributorIds] } : {}),
    ...(claims.supplierId ? { supplier_id: claims.supplierId } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.subject)
    .setIssuedAt(iat)
    .setExpirationTime(iat + claims.ttlSeconds);
  if (claims.issuer) jwt = jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt = jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
