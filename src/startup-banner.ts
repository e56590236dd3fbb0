/** What `npm start` prints on the in-memory store: the demo credentials and a ready authorization URL. */
import { createHash, randomBytes } from 'node:crypto';
import type { Config } from './config/types.ts';

export function printDemoHelp(config: Config): void {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL('/auth', config.issuer);
  url.search = new URLSearchParams({
    client_id: config.demo.clientId,
    response_type: 'code',
    scope: 'openid profile email offline_access',
    redirect_uri: config.demo.redirectUri,
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
      `  (PKCE code_verifier for that URL: ${verifier})`,
      '',
    ].join('\n'),
  );
}
