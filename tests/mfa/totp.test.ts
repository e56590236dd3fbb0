/**
 * Authenticator-app second factor over real HTTP, with codes computed from the secret the set-up page shows:
 * set-up inside the sign-in of a `require_mfa` client, acr/amr in the ID token, replay refused, a code two
 * steps old refused, a recovery code working once, the discovery document naming acr/amr, and wrong codes locking
 * the account like wrong passwords. Each test runs on the in-memory store and on a real redis-server.
 */
import test, { type ExecutionContext } from 'ava';
import * as oidc from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import { CookieJar, request, discoverClient } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import { capture, defined } from '../helpers/defined.ts';

const REDIRECT = 'http://localhost:5000/callback';
const SECRET = 'web-secret-that-is-long-enough-0123456789abcdef';

const PASSWORD = 'correct horse battery staple';
type Store = 'memory' | 'redis';
let prefixes = 0;

async function setup(t: ExecutionContext, store: Store, overrides: Record<string, unknown> = {}) {
  const redis =
    store === 'redis' ? { 'redis.url': (await startRedis(t)).url, 'redis.keyPrefix': `totp${prefixes++}:` } : {};
  const gh = await startGatehouse(t, {
    ...redis,
    ...overrides,
    clients: [
      {
        client_id: 'web',
        client_secret: SECRET,
        redirect_uris: [REDIRECT],
        scope: 'openid profile',
        first_party: true,
        require_mfa: true,
      },
    ],
  });
  await gh.gatehouse.accounts.create({ username: 'frank', password: PASSWORD });
  const config = await discoverClient(gh.issuer, 'web', SECRET);
  return { gh, config };
}

async function form(url: string, jar: CookieJar, origin: string, fields: Record<string, string>) {
  return request(url, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
    body: new URLSearchParams(fields).toString(),
  });
}

/** Starts a sign-in and posts the password; returns the second step's page. */
async function passwordStep(gh: { issuer: string }, config: oidc.Configuration, jar: CookieJar) {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 's',
    acr_values: 'urn:gatehouse:acr:mfa',
    claims: JSON.stringify({ id_token: { amr: null } }),
  });
  let res = await request(url.href, jar);
  const interaction = new URL(res.headers.get('location') as string, gh.issuer).href;
  res = await request(interaction, jar);
  res = await form(`${interaction}/login`, jar, gh.issuer, { username: 'frank', password: PASSWORD });
  return { interaction, verifier, login: res };
}

async function follow(gh: { issuer: string }, jar: CookieJar, res: Response): Promise<URL> {
  let r = res;
  for (let hop = 0; hop < 10; hop++) {
    const location = r.headers.get('location');
    if (!location) throw new Error(`no redirect (${r.status}): ${(await r.text()).slice(0, 300)}`);
    const next = new URL(location, gh.issuer);
    if (next.origin !== new URL(gh.issuer).origin) return next;
    r = await request(next.href, jar);
  }
  throw new Error('too many redirects');
}

async function enrol(t: ExecutionContext, gh: { issuer: string }, config: oidc.Configuration): Promise<TOTP> {
  const jar = new CookieJar();
  const { interaction } = await passwordStep(gh, config, jar);
  const page = await (await request(interaction, jar)).text();
  const totp = new TOTP({
    secret: Secret.fromBase32(capture(/<code>([A-Z2-7]+)<\/code>/, page)),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
  });
  t.is((await form(`${interaction}/mfa`, jar, gh.issuer, { code: totp.generate() })).status, 200, 'set up');
  return totp;
}

for (const store of ['memory', 'redis'] as const) {
  test(`TOTP (${store}): wrong codes lock the account like wrong passwords; then even the right code is refused`, async (t) => {
    const { gh, config } = await setup(t, store, {
      'loginThrottle.maxFailures': 3,
      'loginThrottle.lockBaseSeconds': 3600,
    });
    const totp = await enrol(t, gh, config);
    const jar = new CookieJar();
    const { interaction, login } = await passwordStep(gh, config, jar);
    t.is(login.status, 303);
    for (let i = 0; i < 3; i++)
      t.is((await form(`${interaction}/mfa`, jar, gh.issuer, { code: '000000' })).status, 401);
    // The next step's code: accepted (one step either side) and never used, unlike the one that set the app up.
    const right = await form(`${interaction}/mfa`, jar, gh.issuer, {
      code: totp.generate({ timestamp: Date.now() + 30_000 }),
    });
    t.is(right.status, 401, 'locked: the right code is refused too');
    t.regex(await right.text(), /id="mfa-error"/, 'with the same message as a wrong code');
    t.true(gh.logs.some((l) => l.audit === 'login.locked'));
    t.true(gh.logs.some((l) => l.audit === 'mfa.failure' && l.reason === 'locked'));
    t.is(
      (await form(`${interaction}/mfa`, jar, gh.issuer, { recovery_code: 'aaaaa-aaaaa' })).status,
      401,
      'and so is any recovery code',
    );
  });

  test(`TOTP (${store}): set up during sign-in, acr/amr in the ID token, replay and old codes refused, recovery code once`, (t) =>
    fullFlow(t, store));
}

async function fullFlow(t: ExecutionContext, store: Store) {
  const { gh, config } = await setup(t, store);
  const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as {
    acr_values_supported: string[];
    claims_supported: string[];
  };
  t.true(discovery.acr_values_supported.includes('urn:gatehouse:acr:mfa'));
  t.true(discovery.claims_supported.includes('acr') && discovery.claims_supported.includes('amr'));

  const jar = new CookieJar();
  const first = await passwordStep(gh, config, jar);
  t.is(first.login.status, 303);
  const page = await (await request(first.interaction, jar)).text();
  const secret = /<code>([A-Z2-7]+)<\/code>/.exec(page)?.[1];
  t.truthy(secret, 'the set-up page shows the key');
  t.regex(page, /<svg[^>]*>/, 'and a QR code rendered on the server');
  const totp = new TOTP({ secret: Secret.fromBase32(secret as string), algorithm: 'SHA1', digits: 6, period: 30 });
  const wrong = await form(`${first.interaction}/mfa`, jar, gh.issuer, {
    code: totp.generate({ timestamp: Date.now() - 120_000 }),
  });
  t.is(wrong.status, 401, 'a code two steps old is refused');
  const code = totp.generate();
  const confirmed = await form(`${first.interaction}/mfa`, jar, gh.issuer, { code });
  t.is(confirmed.status, 200);
  const codesPage = await confirmed.text();
  const recovery = [...codesPage.matchAll(/<li>([a-z0-9]{5}-[a-z0-9]{5})<\/li>/g)].map((m) => defined(m[1], 'm[1]'));
  t.is(recovery.length, 10, 'ten recovery codes, shown once');
  const next = /href="([^"]+)"/
    .exec(codesPage.slice(codesPage.indexOf('data-recovery-codes')))?.[1]
    ?.replaceAll('&amp;', '&') as string;
  const callback = await follow(gh, jar, await request(new URL(next, gh.issuer).href, jar));
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: first.verifier,
    expectedState: 's',
  });
  const claims = tokens.claims();
  t.is(claims?.acr, 'urn:gatehouse:acr:mfa');
  t.deepEqual([...((claims?.amr as string[] | undefined) ?? [])].sort(), ['mfa', 'otp', 'pwd']);

  // A second sign-in (new browser): the account now always asks; the code just used is refused.
  const jar2 = new CookieJar();
  const second = await passwordStep(gh, config, jar2);
  t.is(second.login.status, 303);
  const challenge = await (await request(second.interaction, jar2)).text();
  t.regex(challenge, /name="code"/);
  t.is(
    (await form(`${second.interaction}/mfa`, jar2, gh.issuer, { code })).status,
    401,
    'a used code cannot be used again',
  );
  const viaRecovery = await form(`${second.interaction}/mfa`, jar2, gh.issuer, {
    recovery_code: defined(recovery[0], 'recovery[0]').toUpperCase(),
  });
  t.is(viaRecovery.status, 303, 'a recovery code works');
  const cb2 = await follow(gh, jar2, viaRecovery);
  t.truthy(cb2.searchParams.get('code'));

  const jar3 = new CookieJar();
  const third = await passwordStep(gh, config, jar3);
  t.is(
    (await form(`${third.interaction}/mfa`, jar3, gh.issuer, { recovery_code: defined(recovery[0], 'recovery[0]') }))
      .status,
    401,
    'but only once',
  );
  t.true(gh.logs.some((l) => l.audit === 'mfa.enrolled' && l.factor === 'totp'));
  t.true(gh.logs.some((l) => l.audit === 'mfa.failure'));
  t.false(JSON.stringify(gh.logs).includes(secret as string), 'the secret never reaches the log');
}
