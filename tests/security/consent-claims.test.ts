/**
 * The consent page shows everything the grant will hold. An attacker's client asks for claims through the
 * `claims` parameter (OIDC Core 5.5) with nothing but `scope=openid`: the page must name each claim in plain
 * words, with the client's name and the host it returns to, and nothing reaches the client that the page did
 * not show. A first-party client skips the page only for claims its registered scopes release. On the memory
 * store and on a real Redis (the grant is stored).
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { PROTOCOL_CLAIMS } from '../helpers/claims.ts';
import { loginThroughPages, discoverClient } from '../helpers/browserless-login.ts';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import { defined } from '../helpers/defined.ts';

const USER = { username: 'erin', password: 'erin-password-for-consent' };
const THIRD = {
  id: 'third',
  secret: 'third-party-secret-for-consent-0123456789abcdef',
  redirect: 'https://third.example/cb',
};
const FIRST = { id: 'first', redirect: 'https://first.example/cb' };

const CLIENTS = [
  {
    client_id: THIRD.id,
    client_name: 'Third Party Photos',
    client_secret: THIRD.secret,
    redirect_uris: [THIRD.redirect],
    grant_types: ['authorization_code', 'refresh_token'],
  },
  {
    client_id: FIRST.id,
    client_name: 'Our own app',
    token_endpoint_auth_method: 'none',
    redirect_uris: [FIRST.redirect],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid profile',
    first_party: true,
  },
];

async function start(t: import('ava').ExecutionContext, store: string): Promise<TestGatehouse> {
  const overrides: Record<string, unknown> = { clients: CLIENTS, 'demo.seed': false };
  if (store === 'redis') overrides['redis.url'] = (await startRedis(t)).url;
  const gh = await startGatehouse(t, overrides);
  await gh.gatehouse.accounts.create({
    ...USER,
    email: 'erin@example.com',
    emailVerified: true,
    name: 'Erin Example',
    givenName: 'Erin',
    familyName: 'Example',
    phoneNumber: '+1 555 0199',
    address: { formatted: '2 Example Road, Springfield', country: 'US' },
    roles: ['user'],
  });
  return gh;
}

/** The `<li>` lines of a consent page, tags removed. */
function consentLines(html: string): string[] {
  const list = /<ul class="scopes">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? '';
  return [...list.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) =>
    defined(m[1], 'm[1]')
      .replace(/<[^>]+>/g, '')
      .trim(),
  );
}

for (const store of ['memory', 'redis']) {
  test(`${store}: claims asked for with the claims parameter are listed on the consent page, and nothing else reaches the client`, async (t) => {
    const gh = await start(t, store);
    const config = await discoverClient(gh.issuer, THIRD.id, THIRD.secret);
    const asked = { email: null, phone_number: null, address: null, name: null };
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: THIRD.redirect,
      scope: 'openid',
      nonce,
      claims: JSON.stringify({ id_token: asked, userinfo: asked }),
    });
    const { callback, pages } = await loginThroughPages(url, gh.issuer, { ...USER, consent: 'allow' });
    t.is(pages.length, 2, 'sign-in page, then the consent page');
    const page = defined(pages[1], 'pages[1]');
    t.regex(page, /Third Party Photos/, "the client's name");
    t.regex(page, /third\.example/, 'the host the browser goes back to');
    const lines = consentLines(page);
    for (const [claim, words] of [
      ['email', 'See your email address'],
      ['phone_number', 'See your phone number'],
      ['address', 'See your postal address'],
      ['name', 'See your full name'],
    ]) {
      t.true(lines.includes(`${words} (${claim})`), `${claim} in plain words: ${lines.join(' | ')}`);
    }

    const tokens = await oidc.authorizationCodeGrant(config, callback, { expectedNonce: nonce });
    const idToken = tokens.claims() as Record<string, unknown>;
    const info = (await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub as string)) as Record<
      string,
      unknown
    >;
    t.is(idToken.email, 'erin@example.com', 'what the user allowed is released');
    t.is(info.phone_number, '+1 555 0199');
    // Every user claim the client received was on the page.
    const shown = new Set(lines.map((l) => /\(([^)]+)\)$/.exec(l)?.[1]));
    for (const claim of [...Object.keys(idToken), ...Object.keys(info)].filter((c) => !PROTOCOL_CLAIMS.has(c))) {
      t.true(shown.has(claim), `${claim} reached the client without being on the consent page`);
    }
  });

  test(`${store}: a first-party client asking for claims beyond its registered scopes gets the consent page`, async (t) => {
    const gh = await start(t, store);
    const config = await discoverClient(gh.issuer, FIRST.id);
    const verifier = oidc.randomPKCECodeVerifier();
    const challenge = await oidc.calculatePKCECodeChallenge(verifier);
    const pkce = { code_challenge: challenge, code_challenge_method: 'S256', redirect_uri: FIRST.redirect };
    // `name` is released by `profile`, which the client is registered for; `phone_number` is not.
    const url = oidc.buildAuthorizationUrl(config, {
      ...pkce,
      scope: 'openid profile',
      claims: JSON.stringify({ userinfo: { name: null, phone_number: null } }),
    });
    const { callback, pages } = await loginThroughPages(url, gh.issuer, { ...USER, consent: 'allow' });
    t.is(pages.length, 2, 'sign-in page, then the consent page');
    const lines = consentLines(defined(pages[1], 'pages[1]'));
    t.true(lines.includes('See your phone number (phone_number)'), lines.join(' | '));
    t.true(lines.includes('See your name and username (profile)'), lines.join(' | '));
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
    const info = await oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck);
    t.is(info.phone_number, '+1 555 0199', 'allowed on the page, so released');

    // Claims its scopes release need no page: a fresh sign-in asking only for `name` resumes straight to the client.
    const again = oidc.buildAuthorizationUrl(config, {
      ...pkce,
      scope: 'openid profile',
      claims: JSON.stringify({ userinfo: { name: null } }),
    });
    const quiet = await loginThroughPages(again, gh.issuer, USER);
    t.is(quiet.pages.length, 1, 'only the sign-in page');
    t.truthy(quiet.callback.searchParams.get('code'));
  });
}
