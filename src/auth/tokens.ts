import { SignJWT, createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { systemClock } from '../clock';
import { ROLES } from '../domain/model';
import { UnauthenticatedError } from '../domain/errors';
import type { Principal } from './principal';

/**
 * Bearer tokens: HS256 with a shared secret, or any JWS algorithm the JWKS publishes. Claims:
 *   sub              who (free text, for the audit trail)
 *   role             ED | IS | GS | OPERATOR
 *   distributor_ids  for ED: the two-digit distributor IDs it operates
 *   supplier_id      for IS/GS: the supplier's EUI-64 party ID
 * exp is required (a token that never expires cannot be withdrawn) and its lifetime bounded by
 * maxLifetimeSeconds, from iat and from now; an iat in the future (beyond a clock-skew allowance)
 * is refused; nbf is enforced when present; iss and aud when configured. All on wall time.
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
  /**
   * The longest lifetime accepted, in seconds: both exp - iat and exp - now (a token without iat
   * is judged from now alone); 0 or unset: no maximum.
   */
  readonly maxLifetimeSeconds?: number;
  /** How far in the future an iat may lie (the issuer's clock ahead of ours); default 60 s. */
  readonly clockSkewSeconds?: number;
  /**
   * Wall time, by which exp, nbf and iat are judged (default: the system clock; tests hand in a
   * fixed one). Never the service clock: CLOCK_SPEED and CLOCK_START move that away from the time
   * tokens are issued on.
   */
  readonly now?: () => Date;
}

export interface TokenVerifier {
  /** Verifies a raw token (without "Bearer ") and returns the principal, or throws UnauthenticatedError. */
  verify(token: string): Promise<Principal>;
}

type VerificationKey = Uint8Array | JWTVerifyGetKey;

export function createTokenVerifier(settings: TokenSettings): TokenVerifier {
  let key: VerificationKey;
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
  const now = () => settings.now?.() ?? systemClock.now();
  return {
    async verify(token) {
      const hit = verified.get(token);
      if (hit && performance.now() < hit.until) {
        const at = now().getTime();
        if (at < hit.expMs && at >= hit.nbfMs) return hit.principal;
      }
      verified.delete(token);
      const principal = await verifyNow(token, key, algorithms, settings, now());
      const exp = principal.kind === 'user' ? principal.expiresAt?.getTime() : undefined;
      if (exp !== undefined) {
        if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value!);
        verified.set(token, {
          principal,
          expMs: exp,
          nbfMs: notBefore(token) - (settings.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000,
          until: performance.now() + 60_000,
        });
      }
      return principal;
    },
  };
}

async function verifyNow(
  token: string,
  key: VerificationKey,
  algorithms: string[] | undefined,
  settings: TokenSettings,
  now: Date,
): Promise<Principal> {
  let payload: JWTPayload;
  try {
    const options = {
      algorithms,
      issuer: settings.issuer,
      audience: settings.audience,
      currentDate: now,
      // The issuer's clock may run ahead of ours: a fresh token's nbf (often its iat) gets the same
      // allowance as its iat. jose applies it to exp too; exp is checked again, strictly, below.
      clockTolerance: settings.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
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
  checkLifetime(payload, Math.floor(now.getTime() / 1000), settings);
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

/** The default allowance for an issuer's clock running ahead of ours, in seconds. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 60;

/**
 * Refuses an expired token (no allowance: jose's tolerance is there for nbf), an iat in the
 * future (beyond the skew allowance) and a lifetime over the maximum,
 * counted both from iat and from now: without the second, a token "issued" in the future, or one
 * whose iat is absurd (1e30), could live as long as it liked.
 */
function checkLifetime(payload: JWTPayload, nowSeconds: number, settings: TokenSettings): void {
  const exp = payload.exp as number; // required, and a number: jose checked both
  const skew = settings.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  if (exp <= nowSeconds) throw new UnauthenticatedError('token has expired');
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds + skew) {
    throw new UnauthenticatedError('token "iat" claim is in the future');
  }
  const max = settings.maxLifetimeSeconds ?? 0;
  if (max <= 0) return;
  if (exp - nowSeconds > max || (typeof payload.iat === 'number' && exp - payload.iat > max)) {
    throw new UnauthenticatedError(`token lifetime exceeds the maximum of ${max} seconds`);
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
