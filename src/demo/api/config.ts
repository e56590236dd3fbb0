/**
 * Configuration of the demo API (`npm run demo:api`), from the environment, validated once. Its variables are
 * declared in src/config/demo-settings.ts (listed in docs/configuration.md); every problem names its variable in
 * one ConfigError and the process exits 1 before listening.
 */
import { demoApiSettings } from '../../config/demo-settings.ts';
import { readEnvSettings } from '../../config/env-settings.ts';
import { ConfigError } from '../../config/errors.ts';

type Credentials = { readonly clientId: string; readonly clientSecret: string };

export interface DemoApiConfig {
  readonly issuer: string;
  readonly port: number;
  readonly host: string;
  readonly audience: string;
  readonly mode: 'jwt' | 'introspection';
  readonly introspection?: Credentials;
  readonly downstream?: Credentials & { readonly url: string; readonly audience: string };
  readonly clockToleranceSeconds: number;
  readonly tokenCacheSize: number;
  readonly tokenCacheMaxAgeSeconds: number;
  readonly logLevel: string;
}

export function loadDemoApiConfig(env: NodeJS.ProcessEnv = process.env): DemoApiConfig {
  const { clientId, clientSecret, downstreamUrl, downstreamAudience, ...settings } = readEnvSettings(
    demoApiSettings,
    env,
  );
  const credentials = clientId && clientSecret ? { clientId, clientSecret } : undefined;
  const problems: string[] = [];
  if (settings.mode === 'introspection' && !credentials)
    problems.push('API_CLIENT_ID / API_CLIENT_SECRET: introspection mode needs the API client credentials');
  let downstream: DemoApiConfig['downstream'];
  if (downstreamUrl || downstreamAudience) {
    if (!downstreamUrl || !downstreamAudience)
      problems.push('API_DOWNSTREAM_URL / API_DOWNSTREAM_AUDIENCE: set both or neither');
    else if (!credentials)
      problems.push('API_CLIENT_ID / API_CLIENT_SECRET: the downstream call needs the API client credentials');
    else downstream = { url: downstreamUrl, audience: downstreamAudience, ...credentials };
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    ...settings,
    ...(settings.mode === 'introspection' && credentials ? { introspection: credentials } : {}),
    ...(downstream ? { downstream } : {}),
  });
}
