/**
 * Configuration of the demo web client (a backend-for-frontend), from the environment, validated once. A bad value
 * names its variable.
 *
 *   ISSUER                          Gatehouse's issuer URL                 default http://localhost:3000
 *   DEMO_PORT / DEMO_HOST           where the client listens               default 5000 / 0.0.0.0
 *   DEMO_CLIENT_ID                  its client id at Gatehouse (public)    default demo-client
 *   DEMO_REDIRECT_URI               registered redirect URI                default http://localhost:5000/callback
 *   DEMO_POST_LOGOUT_REDIRECT_URI   registered post-logout redirect URI    default http://localhost:5000/
 *   API_URL                         where the demo API listens             default http://localhost:4000
 *   API_AUDIENCE                    the API's resource identifier          default http://localhost:4000
 */
export interface DemoClientConfig {
  readonly issuer: string;
  readonly port: number;
  readonly host: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly postLogoutRedirectUri: string;
  readonly apiUrl: string;
  readonly apiAudience: string;
  /** The client's own origin (from the redirect URI); requests that change state must come from it. */
  readonly origin: string;
}

export class DemoClientConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  override name = 'DemoClientConfigError';
}

function url(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = env[name] || fallback;
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol))
    throw new DemoClientConfigError(`${name}: must be an http(s) URL`);
  return value;
}

export function loadDemoClientConfig(env: NodeJS.ProcessEnv = process.env): DemoClientConfig {
  const portText = env.DEMO_PORT || '5000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535)
    throw new DemoClientConfigError('DEMO_PORT: must be an integer between 0 and 65535');
  const redirectUri = url(env, 'DEMO_REDIRECT_URI', 'http://localhost:5000/callback');
  const postLogoutRedirectUri = url(env, 'DEMO_POST_LOGOUT_REDIRECT_URI', 'http://localhost:5000/');
  if (new URL(postLogoutRedirectUri).origin !== new URL(redirectUri).origin) {
    throw new DemoClientConfigError('DEMO_POST_LOGOUT_REDIRECT_URI: must be on the same origin as DEMO_REDIRECT_URI');
  }
  return Object.freeze({
    issuer: url(env, 'ISSUER', 'http://localhost:3000'),
    port,
    host: env.DEMO_HOST || '0.0.0.0',
    clientId: env.DEMO_CLIENT_ID || 'demo-client',
    redirectUri,
    postLogoutRedirectUri,
    apiUrl: url(env, 'API_URL', 'http://localhost:4000').replace(/\/$/, ''),
    apiAudience: url(env, 'API_AUDIENCE', 'http://localhost:4000'),
    origin: new URL(redirectUri).origin,
  });
}
