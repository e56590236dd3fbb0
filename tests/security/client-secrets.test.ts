/**
 * Client secrets: generated with 256 bits from the CSPRNG; weak supplied secrets are refused. (The CLI end to end —
 * `clients add` printing a generated secret once and refusing `password123` — is in tests/cli/cli.test.ts.)
 */
import test from 'ava';
import { assertStrongSecret, generateClientSecret, MIN_SECRET_LENGTH } from '../../src/cli/commands/clients.ts';

test('generated secrets carry 256 bits and never repeat', (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const s = generateClientSecret();
    t.is(Buffer.from(s, 'base64url').length, 32);
    t.regex(s, /^[A-Za-z0-9_-]{43}$/);
    t.notThrows(() => assertStrongSecret(s));
    seen.add(s);
  }
  t.is(seen.size, 1000);
});

test('weak secrets are refused: short, repetitive, low-variety or not a string', (t) => {
  const weak: unknown[] = [
    'password123',
    'a'.repeat(64),
    '0123456789'.repeat(5),
    generateClientSecret().slice(0, MIN_SECRET_LENGTH - 1),
    'abababababababababababababababababababababababab',
    1234567890123456,
    undefined,
    null,
    ['x'.repeat(64)],
  ];
  for (const s of weak) t.throws(() => assertStrongSecret(s), { message: /client_secret is too weak/ }, String(s));
});
