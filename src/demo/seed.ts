/**
 * The demo user and demo client created at start-up on the in-memory store, so `npm start` is usable at once.
 * Never used with Redis: there, users and clients are created with the CLI.
 */
import type { ClientMetadata } from 'oidc-provider';
import type { AccountService } from '../accounts/service.ts';
import type { Config } from '../config/types.ts';
import { devCallbackUri } from '../http/dev-callback.ts';
import type { Store } from '../storage/types.ts';

export function demoClient(config: Config): ClientMetadata {
  return {
    client_id: config.demo.clientId,
    client_name: 'Gatehouse demo client',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // The second is Gatehouse's own development landing page, where the URL `npm start` prints comes back.
    redirect_uris: [config.demo.redirectUri, devCallbackUri(config)],
    post_logout_redirect_uris: [config.demo.postLogoutRedirectUri],
    // Everything it may obtain: its OIDC scopes and the default resource server's scopes (the demo API).
    scope: [
      'openid profile email offline_access',
      ...(config.resourceServers.find((rs) => rs.default)?.scopes ?? []),
    ].join(' '),
    first_party: true,
  };
}

export function shouldSeed(config: Config, store: Store): boolean {
  return config.demo.seed && store.kind === 'memory';
}

export async function seedDemoUser(config: Config, accounts: AccountService): Promise<void> {
  await accounts.create({
    username: config.demo.username,
    password: config.demo.password,
    email: `${config.demo.username}@example.com`,
    // Every standard claim Gatehouse stores, so each OIDC scope has something to show (conformance scope tests).
    emailVerified: true,
    name: 'Demo User',
    givenName: 'Demo',
    familyName: 'User',
    phoneNumber: '+1 555 0100',
    address: { formatted: '1 Example Street, Springfield', locality: 'Springfield', country: 'US' },
    roles: ['user'],
  });
}
