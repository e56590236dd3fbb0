/**
 * Configuration of the demo web client (a backend-for-frontend), from the environment, validated once. Its
 * variables are declared in src/config/demo-settings.ts (listed in docs/configuration.md); a bad value names its
 * variable in a ConfigError, like every other configuration problem.
 */
import { demoClientSettings } from '../config/demo-settings.ts';
import { type EnvSettingValues, readEnvSettings } from '../config/env-settings.ts';
import { ConfigError } from '../config/errors.ts';

export type DemoClientConfig = EnvSettingValues<typeof demoClientSettings.settings> & {
  /** The client's own origin (from the redirect URI); requests that change state must come from it. */
  readonly origin: string;
};

export function loadDemoClientConfig(env: NodeJS.ProcessEnv = process.env): DemoClientConfig {
  const settings = readEnvSettings(demoClientSettings, env);
  const origin = new URL(settings.redirectUri).origin;
  if (new URL(settings.postLogoutRedirectUri).origin !== origin) {
    throw new ConfigError('DEMO_POST_LOGOUT_REDIRECT_URI: must be on the same origin as DEMO_REDIRECT_URI');
  }
  return Object.freeze({ ...settings, apiUrl: settings.apiUrl.replace(/\/$/, ''), origin });
}
