import { createTokenVerifier, mintToken } from '../../src/auth/tokens';

/**
 * Tokens are judged on wall time (the verifier's `now`, the system clock in the service), never on
 * the service clock that CLOCK_SPEED and CLOCK_START move: a token issued now is valid now.
 */

const SECRET = 'unit-test-secret-that-is-at-least-32-characters';
const HOUR_MS = 3600_000;

describe('token verifier clock', () => {
  const issuedAt = new Date('2026-03-02T10:00:00Z');

  test('a token is valid until its exp on the verifier clock', async () => {
    const token = await mintToken(SECRET, { subject: 's', role: 'OPERATOR', ttlSeconds: 3600 }, issuedAt);
    const verifier = createTokenVerifier({
      secret: SECRET,
      now: () => new Date(issuedAt.getTime() + HOUR_MS / 2),
    });
    await expect(verifier.verify(token)).resolves.toMatchObject({ kind: 'user', role: 'OPERATOR' });
  });

  test('it expires when that clock passes exp', async () => {
    const token = await mintToken(SECRET, { subject: 's', role: 'OPERATOR', ttlSeconds: 3600 }, issuedAt);
    const verifier = createTokenVerifier({
      secret: SECRET,
      now: () => new Date(issuedAt.getTime() + 2 * HOUR_MS),
    });
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  test('without a clock, wall time is used: a token minted now is accepted, one expired an hour ago is not', async () => {
    const verifier = createTokenVerifier({ secret: SECRET, maxLifetimeSeconds: 7 * 24 * 3600 });
    const fresh = await mintToken(SECRET, { subject: 's', role: 'OPERATOR', ttlSeconds: 3600 }, new Date());
    await expect(verifier.verify(fresh)).resolves.toMatchObject({ role: 'OPERATOR' });
    const old = await mintToken(
      SECRET,
      { subject: 's', role: 'OPERATOR', ttlSeconds: 3600 },
      new Date(Date.now() - 2 * HOUR_MS),
    );
    await expect(verifier.verify(old)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});

describe('verified tokens kept', () => {
  const issuedAt = new Date('2026-03-02T10:00:00Z');

  test('a token verified before is still refused once it expires', async () => {
    const token = await mintToken(SECRET, { subject: 's', role: 'OPERATOR', ttlSeconds: 3600 }, issuedAt);
    let now = new Date(issuedAt.getTime() + 1000);
    const verifier = createTokenVerifier({ secret: SECRET, now: () => now });
    await expect(verifier.verify(token)).resolves.toMatchObject({ role: 'OPERATOR' });
    await expect(verifier.verify(token)).resolves.toMatchObject({ role: 'OPERATOR' });
    now = new Date(issuedAt.getTime() + HOUR_MS + 1000);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  test('a forged token is refused even when a genuine one with the same claims was verified', async () => {
    const token = await mintToken(SECRET, { subject: 's', role: 'OPERATOR', ttlSeconds: 3600 }, issuedAt);
    const verifier = createTokenVerifier({ secret: SECRET, now: () => new Date(issuedAt.getTime() + 1000) });
    await verifier.verify(token);
    const [header, payload] = token.split('.');
    await expect(verifier.verify(`${header}.${payload}.AAAA`)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });
});
