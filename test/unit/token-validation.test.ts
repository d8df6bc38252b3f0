import crypto from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createTokenVerifier } from '../../src/auth/tokens';

/**
 * Hostile and broken tokens, minted with jose: each is UNAUTHENTICATED, never a principal and
 * never another kind of error.
 */

const SECRET = 'unit-test-secret-that-is-at-least-32-characters';
const KEY = new TextEncoder().encode(SECRET);
const NOW = new Date('2026-03-02T10:00:00Z');
const T = Math.floor(NOW.getTime() / 1000);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

const verifier = createTokenVerifier({ secret: SECRET, now: () => NOW });
const strict = createTokenVerifier({
  secret: SECRET,
  issuer: 'https://dcc.example',
  audience: 'poa-sieve',
  now: () => NOW,
});

function jwt(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256' }) {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(KEY);
}
const operator = { sub: 's', role: 'OPERATOR', iat: T, exp: T + 3600 };

describe('token validation', () => {
  test('a well-formed token is accepted (the control case)', async () => {
    await expect(verifier.verify(await jwt(operator))).resolves.toMatchObject({
      kind: 'user',
      role: 'OPERATOR',
    });
    await expect(
      strict.verify(await jwt({ ...operator, iss: 'https://dcc.example', aud: 'poa-sieve' })),
    ).resolves.toMatchObject({ kind: 'user' });
  });

  test.each([
    ['expired', { ...operator, exp: T - 1 }],
    ['not yet valid (nbf)', { ...operator, nbf: T + 600 }],
    ['no role', { sub: 's', exp: T + 60 }],
    ['unknown role', { ...operator, role: 'ADMIN' }],
    ['ED without distributor_ids', { ...operator, role: 'ED' }],
    ['ED with a malformed distributor ID', { ...operator, role: 'ED', distributor_ids: ["1'; --"] }],
    ['IS without supplier_id', { ...operator, role: 'IS' }],
    ['GS with a malformed supplier_id', { ...operator, role: 'GS', supplier_id: 'not-an-eui64' }],
    ['no subject', { role: 'OPERATOR', exp: T + 60 }],
    ['a 10 kB subject', { ...operator, sub: 'x'.repeat(10_000) }],
  ])('%s: UNAUTHENTICATED', async (_what, claims) => {
    await expect(verifier.verify(await jwt(claims))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  test("nbf gets the issuer's clock-skew allowance, exp none", async () => {
    // An issuer 30 s ahead of us: its fresh token is valid from "now" by its clock.
    await expect(
      verifier.verify(await jwt({ ...operator, nbf: T + 30, iat: T + 30 })),
    ).resolves.toMatchObject({
      kind: 'user',
    });
    // Beyond the allowance (60 s by default), refused; so is exp a second ago, whatever the skew.
    for (const claims of [
      { ...operator, nbf: T + 61 },
      { ...operator, exp: T - 1 },
    ]) {
      await expect(verifier.verify(await jwt(claims))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    }
  });

  test('a token without exp never expires, so it is refused', async () => {
    const { exp: _exp, ...forever } = operator;
    await expect(verifier.verify(await jwt(forever))).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'token has no "exp" claim',
    });
  });

  test('a lifetime over the maximum, counted from iat or from now, is refused', async () => {
    const bounded = createTokenVerifier({ secret: SECRET, maxLifetimeSeconds: 24 * 3600, now: () => NOW });
    await expect(bounded.verify(await jwt({ ...operator, exp: T + 24 * 3600 }))).resolves.toMatchObject({
      kind: 'user',
    });
    for (const claims of [
      { ...operator, exp: T + 24 * 3600 + 1 },
      // Issued an hour ago, for a day and a second: exp - now is within the bound, exp - iat is not.
      { ...operator, iat: T - 3600, exp: T + 24 * 3600 - 3599 },
      { sub: 's', role: 'OPERATOR', exp: T + 30 * 24 * 3600 },
      // Ten years ahead.
      { ...operator, exp: T + 10 * 365 * 24 * 3600 },
    ]) {
      await expect(bounded.verify(await jwt(claims))).rejects.toMatchObject({
        code: 'UNAUTHENTICATED',
        message: 'token lifetime exceeds the maximum of 86400 seconds',
      });
    }
  });

  test('an iat in the future beyond the skew allowance is refused, however the lifetime looks', async () => {
    const bounded = createTokenVerifier({
      secret: SECRET,
      maxLifetimeSeconds: 24 * 3600,
      clockSkewSeconds: 60,
      now: () => NOW,
    });
    // Within the allowance: an issuer whose clock runs 30 s fast.
    await expect(
      bounded.verify(await jwt({ ...operator, iat: T + 30, exp: T + 3600 })),
    ).resolves.toMatchObject({ kind: 'user' });
    for (const claims of [
      { ...operator, iat: T + 61, exp: T + 3600 },
      // exp - iat is small, but both lie a year ahead: without the iat check, a year-long token.
      { ...operator, iat: T + 365 * 24 * 3600, exp: T + 365 * 24 * 3600 + 60 },
      { ...operator, iat: 1e30, exp: 1e30 + 60 },
      { ...operator, iat: 1e30 },
    ]) {
      await expect(bounded.verify(await jwt(claims))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    // And without a lifetime bound too.
    await expect(verifier.verify(await jwt({ ...operator, iat: 1e30 }))).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'token "iat" claim is in the future',
    });
  });

  test('wrong or missing issuer and audience, when configured: UNAUTHENTICATED', async () => {
    for (const claims of [
      { ...operator, iss: 'https://evil.example', aud: 'poa-sieve' },
      { ...operator, iss: 'https://dcc.example', aud: 'another-service' },
      { ...operator, aud: 'poa-sieve' },
      { ...operator, iss: 'https://dcc.example' },
    ]) {
      await expect(strict.verify(await jwt(claims))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    }
  });

  test('alg:none, another HMAC, a tampered payload or signature, another secret, garbage: UNAUTHENTICATED', async () => {
    const good = await jwt(operator);
    const [h, p, s] = good.split('.');
    const candidates = [
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64(operator)}.`,
      `${b64({ alg: 'none' })}.${b64(operator)}`,
      await jwt(operator, { alg: 'HS512' }),
      `${h}.${b64({ ...operator, role: 'OPERATOR', sub: 'mallory' })}.${s}`,
      `${h}.${p}.${s.slice(0, -3)}${s.endsWith('AAA') ? 'BBB' : 'AAA'}`,
      await new SignJWT(operator)
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode('x'.repeat(48))),
      // An RS256 token whose public key is offered in the header (jwk injection).
      await (async () => {
        const { privateKey, publicKey } = await generateKeyPair('RS256');
        return new SignJWT(operator)
          .setProtectedHeader({ alg: 'RS256', jwk: await exportJWK(publicKey) })
          .sign(privateKey);
      })(),
      'not.a.token',
      '',
      crypto.randomBytes(64).toString('base64url'),
      `${h}.${p}`,
    ];
    for (const token of candidates) {
      await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    }
  });
});
