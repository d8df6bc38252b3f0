import { createTokenVerifier, mintToken } from '../../src/auth/tokens';

/** Token expiry is judged by the service clock (the one the WebSocket re-check uses), not wall time. */

const SECRET = 'unit-test-secret-that-is-at-least-32-characters';
const HOUR_MS = 3600_000;

describe('token verifier clock', () => {
  const issuedAt = new Date('2026-03-02T10:00:00Z');

  test('a token minted on the service clock is valid on that clock, whatever the wall time', async () => {
    const token = await mintToken(SECRET, { subject: 's', role: 'OPERATOR', ttlSeconds: 3600 }, issuedAt);
    const verifier = createTokenVerifier({
      secret: SECRET,
      now: () => new Date(issuedAt.getTime() + HOUR_MS / 2),
    });
    await expect(verifier.verify(token)).resolves.toMatchObject({ kind: 'user', role: 'OPERATOR' });
  });

  test('it expires when the service clock passes exp', async () => {
    const token = await mintToken(SECRET, { subject: 's', role: 'OPERATOR', ttlSeconds: 3600 }, issuedAt);
    const verifier = createTokenVerifier({
      secret: SECRET,
      now: () => new Date(issuedAt.getTime() + 2 * HOUR_MS),
    });
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  test('without a clock, wall time is used', async () => {
    const token = await mintToken(
      SECRET,
      { subject: 's', role: 'OPERATOR', ttlSeconds: 3600 },
      new Date(Date.now() - 2 * HOUR_MS),
    );
    await expect(createTokenVerifier({ secret: SECRET }).verify(token)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
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
