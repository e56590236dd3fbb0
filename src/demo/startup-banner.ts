/**
 * What `npm start` prints on the in-memory store: the demo credentials and a ready authorization URL that comes
 * back to Gatehouse's development callback page (src/http/dev-callback.ts), plus the PKCE verifier as a shell
 * `export` for the curl that page shows.
 *
 * The URL asks only for scopes the demo client gets without a consent step: it is first-party, so it receives a
 * refresh token (bound to the session) without `offline_access`, which would need `prompt=consent` and a consent
 * page.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config/types.ts';
import { devCallbackUri } from '../http/dev-callback.ts';

export function printDemoHelp(config: Config): void {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL('/auth', config.issuer);
  url.search = new URLSearchParams({
    client_id: config.demo.clientId,
    response_type: 'code',
    scope: 'openid profile email',
    redirect_uri: devCallbackUri(config),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
  }).toString();
  process.stdout.write(
    [
      '',
      'Gatehouse is running on the in-memory store (development only; data is lost on restart).',
      `  Issuer:       ${config.issuer}`,
      `  Discovery:    ${new URL('/.well-known/openid-configuration', config.issuer)}`,
      `  Demo user:    ${config.demo.username} / ${config.demo.password}`,
      `  Demo client:  ${config.demo.clientId} (public, PKCE)`,
      `  Sign in at:   ${url}`,
      '  Then:         the browser lands on a page here that shows the curl exchanging the code for tokens.',
      "                That curl needs this URL's PKCE code_verifier: first run, in the same terminal as the curl,",
      `                export CODE_VERIFIER=${verifier}`,
      '  Whole demo:   npm run demo (a web client and an API: sign-in, API calls, refresh, sign-out)',
      '',
    ].join('\n'),
  );
}
