/**
 * Email verification and email change over real HTTP, with mail through a real in-process SMTP server and a real
 * relying party reading `email_verified` from the ID token and userinfo.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { CookieJar, loginThroughPages, request } from '../helpers/browserless-login.ts';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { CLIENTS, REDIRECT, rp } from '../security/fixtures.ts';
import { startSmtp } from '../helpers/smtp.ts';
import { capture } from '../helpers/defined.ts';

const PASSWORD = 'correct horse battery staple';

const smtp = startSmtp;

const VERIFY_LINK = /(http:\/\/127\.0\.0\.1:\d+\/account\/verify\/[A-Za-z0-9_-]{43})/;
const verifyLink = (raw: string) => capture(VERIFY_LINK, raw);

function post(gh: TestGatehouse, jar: CookieJar, path: string, fields: Record<string, string>): Promise<Response> {
  return request(`${gh.issuer}${path}`, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.issuer },
    body: new URLSearchParams(fields).toString(),
  });
}

/**
 * Signs `username` in for client-a in `jar` (scope `email`, and the email claims asked for in the ID token too);
 * the ID token's and userinfo's email claims.
 */
async function emailClaims(gh: TestGatehouse, jar: CookieJar, username: string) {
  const a = await rp(gh.issuer, 'client-a');
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(a, {
    redirect_uri: REDIRECT,
    scope: 'openid email',
    claims: JSON.stringify({ id_token: { email: null, email_verified: null } }),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    prompt: 'consent',
  });
  const { callback } = await loginThroughPages(url, gh.issuer, { username, password: PASSWORD, jar });
  const tokens = await oidc.authorizationCodeGrant(a, callback, { pkceCodeVerifier: verifier });
  const claims = tokens.claims() as Record<string, unknown>;
  const userinfo = (await oidc.fetchUserInfo(a, tokens.access_token, claims.sub as string)) as Record<string, unknown>;
  return {
    id: { email: claims.email, verified: claims.email_verified },
    userinfo: { email: userinfo.email, verified: userinfo.email_verified },
  };
}

/** Presses the button on a verification link's page, as a browser does (an empty form POST). */
function follow(gh: TestGatehouse, link: string): Promise<Response> {
  return request(link, new CookieJar(), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.issuer },
    body: '',
  });
}

async function csrfOf(gh: TestGatehouse, jar: CookieJar): Promise<string> {
  const html = await (await request(`${gh.issuer}/account`, jar)).text();
  return capture(/name="csrf" value="([^"]+)"/, html);
}

test('an email is unverified until its mailed link is followed (a GET alone verifies nothing); the claims say so', async (t) => {
  const mail = await smtp(t);
  const gh = await startGatehouse(t, { clients: CLIENTS, 'mail.smtpUrl': mail.url });
  await gh.gatehouse.accounts.create({ username: 'judy', password: PASSWORD, email: 'judy@example.com' });
  const jar = new CookieJar();
  t.deepEqual(await emailClaims(gh, jar, 'judy'), {
    id: { email: 'judy@example.com', verified: false },
    userinfo: { email: 'judy@example.com', verified: false },
  });
  t.regex(await (await request(`${gh.issuer}/account`, jar)).text(), /not verified yet/);

  t.is((await post(gh, jar, '/account/email/resend', { csrf: await csrfOf(gh, jar) })).status, 200);
  const raw = await mail.next();
  t.regex(raw, /To: judy@example.com/);
  const link = verifyLink(raw);
  t.truthy(link);
  const page = await request(link, new CookieJar());
  t.is(page.status, 200);
  t.regex(await page.text(), /Verify email address/);
  t.false(
    (await gh.gatehouse.accounts.find('judy')).emailVerified,
    'fetching the link (a mail scanner) verifies nothing',
  );
  const tampered = `${link.slice(0, -1)}${link.endsWith('A') ? 'B' : 'A'}`;
  t.is((await follow(gh, tampered)).status, 400);

  const done = await follow(gh, link);
  t.is(done.status, 200);
  t.regex(await done.text(), /Email address verified/);
  t.is((await follow(gh, link)).status, 400, 'single use');
  t.deepEqual(await emailClaims(gh, new CookieJar(), 'judy'), {
    id: { email: 'judy@example.com', verified: true },
    userinfo: { email: 'judy@example.com', verified: true },
  });
  t.true(gh.logs.some((l) => l.audit === 'account.email_verified'));
  t.is(gh.logs.filter((l) => l.audit === 'account.link_refused' && l.reason === 'verify').length, 2);
  t.false(JSON.stringify(gh.logs).includes(link.split('/').pop() as string), 'the link is never logged');
});

test('changing the email needs the password, re-verifies the new address and tells the old one; an older link verifies nothing', async (t) => {
  const mail = await smtp(t);
  const gh = await startGatehouse(t, { clients: CLIENTS, 'mail.smtpUrl': mail.url });
  await gh.gatehouse.accounts.create({
    username: 'kate',
    password: PASSWORD,
    email: 'kate@example.com',
    emailVerified: true,
  });
  const jar = new CookieJar();
  t.is((await emailClaims(gh, jar, 'kate')).id.verified, true);
  t.is((await post(gh, jar, '/account/email/resend', { csrf: await csrfOf(gh, jar) })).status, 200);
  t.is(mail.pending(), 0, 'a verified address gets no link');

  const csrf = await csrfOf(gh, jar);
  const wrong = await post(gh, jar, '/account/email', { csrf, email: 'kate@new.example', current: 'not the password' });
  t.is(wrong.status, 400);
  t.is((await gh.gatehouse.accounts.find('kate')).email, 'kate@example.com', 'a wrong password changes nothing');
  t.is((await post(gh, jar, '/account/email', { csrf, email: 'not an address', current: PASSWORD })).status, 400);
  t.is(
    (await post(gh, jar, '/account/email', { csrf, email: `${'x'.repeat(300)}@example.com`, current: PASSWORD }))
      .status,
    400,
  );
  t.is(
    (await post(gh, jar, '/account/email', { email: 'kate@new.example', current: PASSWORD })).status,
    403,
    'no form token',
  );

  const changed = await post(gh, jar, '/account/email', { csrf, email: 'kate@new.example', current: PASSWORD });
  t.is(changed.status, 200);
  t.regex(await changed.text(), /kate@new\.example<\/strong> · not verified yet/);
  const first = await mail.next();
  const second = await mail.next();
  const toNew = [first, second].find((m) => /To: kate@new.example/.test(m)) as string;
  const toOld = [first, second].find((m) => /To: kate@example.com/.test(m)) as string;
  t.truthy(verifyLink(toNew));
  t.regex(toOld, /changed from this address to kate@new.example/);
  t.notRegex(toOld, VERIFY_LINK, 'the old address gets a notice, not a link');
  t.deepEqual((await emailClaims(gh, new CookieJar(), 'kate')).id, { email: 'kate@new.example', verified: false });
  t.true(gh.logs.some((l) => l.audit === 'account.email_changed'));

  // A link sent to the new address, then the email changed again: that link no longer verifies anything.
  t.is((await post(gh, jar, '/account/email', { csrf, email: 'kate@third.example', current: PASSWORD })).status, 200);
  await mail.next();
  await mail.next();
  t.is((await follow(gh, verifyLink(toNew))).status, 400);
  t.false((await gh.gatehouse.accounts.find('kate')).emailVerified);
});
