/**
 * Step-up over real HTTP with a real relying party: a session signed in with a password only meets a request with
 * `acr_values=urn:gatehouse:acr:mfa` and is asked for the second factor, not the password; the ID token and the
 * JWT access token for a resource server carry what was used (`acr`, `amr`, `auth_time`); `max_age=0` asks for the
 * password again even then.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import { type CookieJar, loginThroughPages, request, discoverClient } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { capture, defined } from '../helpers/defined.ts';

const REDIRECT = 'http://localhost:5000/callback';
const SECRET = 'web-secret-that-is-long-enough-0123456789abcdef';
const API = 'https://api.example.com';
const PASSWORD = 'correct horse battery staple';
const ASK_CLAIMS = JSON.stringify({ id_token: { acr: null, amr: null } });

function payload(jwt: string): Record<string, unknown> {
  return JSON.parse(
    Buffer.from(defined(jwt.split('.')[1], "jwt.split('.')[1]"), 'base64url').toString('utf8'),
  ) as Record<string, unknown>;
}

async function follow(issuer: string, jar: CookieJar, res: Response): Promise<URL> {
  let r = res;
  for (let hop = 0; hop < 10; hop++) {
    const location = r.headers.get('location');
    if (!location) throw new Error(`no redirect (${r.status}): ${(await r.text()).slice(0, 300)}`);
    const next = new URL(location, issuer);
    if (next.origin !== new URL(issuer).origin) return next;
    r = await request(next.href, jar);
  }
  throw new Error('too many redirects');
}

test('step-up: password session asked for the second factor only; acr/amr/auth_time in ID and access tokens; max_age=0 asks again', async (t) => {
  const gh = await startGatehouse(t, {
    resourceServers: [{ identifier: API, scopes: ['api:read'], default: true }],
    clients: [
      {
        client_id: 'web',
        client_secret: SECRET,
        redirect_uris: [REDIRECT],
        scope: 'openid api:read',
        first_party: true,
      },
    ],
  });
  await gh.gatehouse.accounts.create({ username: 'erin', password: PASSWORD });
  const rp = await discoverClient(gh.issuer, 'web', SECRET);
  const authorize = async (extra: Record<string, string>) => {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT,
      scope: 'openid api:read',
      resource: API,
      claims: ASK_CLAIMS,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...extra,
    });
    return { url, verifier };
  };
  const redeem = (callback: URL, verifier: string) =>
    oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier }, { resource: API });

  // 1. Password only.
  const first = await authorize({});
  const signedIn = await loginThroughPages(first.url, gh.issuer, { username: 'erin', password: PASSWORD });
  const jar = signedIn.jar;
  const plain = await redeem(signedIn.callback, first.verifier);
  t.is(plain.claims()?.acr, 'urn:gatehouse:acr:password');
  t.deepEqual(plain.claims()?.amr, ['pwd']);
  const plainAccess = payload(plain.access_token);
  t.is(plainAccess.aud, API, 'a JWT access token for the resource server');
  t.is(plainAccess.acr, 'urn:gatehouse:acr:password');
  t.deepEqual(plainAccess.amr, ['pwd']);
  const passwordTime = plainAccess.auth_time;
  t.is(typeof passwordTime, 'number');

  // 2. Step-up: the same browser, a request that needs a second factor. No password field, the set-up instead
  // (this account has no factor yet), and the sign-in completes with it.
  const second = await authorize({ acr_values: 'urn:gatehouse:acr:mfa' });
  const toInteraction = await request(second.url.href, jar);
  t.is(toInteraction.status, 303);
  const interaction = new URL(toInteraction.headers.get('location') as string, gh.issuer).href;
  t.regex(interaction, /\/interaction\//, 'the session alone does not satisfy the request');
  const page = await (await request(interaction, jar)).text();
  t.notRegex(page, /name="password"/, 'the password is not asked again');
  const secret = capture(/<code>([A-Z2-7]+)<\/code>/, page);
  t.truthy(secret, 'the second factor is');
  const code = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate();
  const confirmed = await request(`${interaction}/mfa`, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.issuer },
    body: new URLSearchParams({ code }).toString(),
  });
  t.is(confirmed.status, 200, 'recovery codes first');
  const codesPage = await confirmed.text();
  const next = /href="([^"]+)"/
    .exec(codesPage.slice(codesPage.indexOf('data-recovery-codes')))?.[1]
    ?.replaceAll('&amp;', '&') as string;
  const stepped = await redeem(
    await follow(gh.issuer, jar, await request(new URL(next, gh.issuer).href, jar)),
    second.verifier,
  );
  t.is(stepped.claims()?.acr, 'urn:gatehouse:acr:mfa');
  t.deepEqual([...((stepped.claims()?.amr as string[]) ?? [])].sort(), ['mfa', 'otp', 'pwd']);
  const steppedAccess = payload(stepped.access_token);
  t.is(steppedAccess.acr, 'urn:gatehouse:acr:mfa');
  t.deepEqual([...((steppedAccess.amr as string[]) ?? [])].sort(), ['mfa', 'otp', 'pwd']);
  t.is(typeof steppedAccess.auth_time, 'number');
  t.true((steppedAccess.auth_time as number) >= (passwordTime as number));

  // 3. max_age=0: a fresh sign-in, password first, even with the stepped-up session.
  const third = await authorize({ max_age: '0' });
  const again = await request(third.url.href, jar);
  t.is(again.status, 303);
  const againPage = await (await request(new URL(again.headers.get('location') as string, gh.issuer).href, jar)).text();
  t.regex(againPage, /name="password"/, 'max_age=0 asks for the password');
  t.false(JSON.stringify(gh.logs).includes(secret), 'the TOTP key is never logged');
});
