/**
 * Signing a device out from /account, over real HTTP with a real relying party on each device: the signed-out
 * device's refresh token (offline access included) is refused, the device that stayed keeps its own.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { authorizeWithPkce, CookieJar, request } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { CLIENTS, REDIRECT, rp } from '../security/fixtures.ts';
import { capture, defined } from '../helpers/defined.ts';

test('two devices: the one signed out from the other loses its refresh token; the other keeps its own', async (t) => {
  const gh = await startGatehouse(t, { clients: CLIENTS });
  const a = await rp(gh.issuer, 'client-a');
  const laptop = new CookieJar();
  const phone = new CookieJar();
  const refresh: string[] = [];
  for (const jar of [laptop, phone]) {
    const { callback, verifier } = await authorizeWithPkce(
      a,
      gh.issuer,
      { username: 'demo', password: 'demo-password', jar },
      { redirect_uri: REDIRECT, scope: 'openid offline_access' },
    );
    refresh.push(
      (await oidc.authorizationCodeGrant(a, callback, { pkceCodeVerifier: verifier })).refresh_token as string,
    );
  }
  const page = await (await request(`${gh.issuer}/account`, phone)).text();
  const csrf = capture(/name="csrf" value="([^"]+)"/, page);
  const other = capture(/<li class="device">[\s\S]*?name="session" value="([^"]+)"/, page);
  t.truthy(other, 'the laptop is listed with a sign-out button');
  const res = await request(`${gh.issuer}/account/sessions/end`, phone, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.issuer },
    body: new URLSearchParams({ csrf, session: other }).toString(),
  });
  t.is(res.status, 200);
  await t.throwsAsync(
    oidc.refreshTokenGrant(a, defined(refresh[0], 'refresh[0]')),
    { code: 'OAUTH_RESPONSE_BODY_ERROR' },
    "the signed-out device's refresh token is refused",
  );
  t.truthy(
    (await oidc.refreshTokenGrant(a, defined(refresh[1], 'refresh[1]'))).access_token,
    'the phone keeps its access',
  );
  t.is((await request(`${gh.issuer}/account`, laptop)).status, 303, 'the laptop must sign in again');
});
