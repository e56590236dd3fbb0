/**
 * Settings that come from environment variables only: those of the demo web client and the demo API, which have
 * no configuration file. Each is declared like a server setting in schema.ts (type and meaning) plus the default
 * it takes when its variable is unset or empty; it is converted and checked by the same functions as the
 * server's (values.ts), and problems are reported the same way: all at once, each naming its variable, in one
 * ConfigError. `npm run config:docs` renders these declarations into docs/configuration.md as well.
 */
import { ConfigError } from './errors.ts';
import type { SettingType } from './schema.ts';
import { check, fromEnv } from './values.ts';

export interface EnvSetting {
  readonly env: string;
  readonly type: SettingType;
  /** Used when the variable is unset or empty, as the variable would be written. None: the setting is optional. */
  readonly default?: string;
  readonly doc: string;
}

/** A named group of env settings, rendered as one section of the reference. */
export interface EnvSettingGroup<S extends Record<string, EnvSetting> = Record<string, EnvSetting>> {
  readonly title: string;
  readonly intro: string;
  readonly settings: S;
}

type ValueOf<T extends SettingType> = T extends { kind: 'int' }
  ? number
  : T extends { kind: 'bool' }
    ? boolean
    : T extends { kind: 'enum'; values: readonly (infer V)[] }
      ? V
      : T extends { kind: 'strings' }
        ? readonly string[]
        : T extends { kind: 'json' }
          ? unknown
          : string;

/** The typed values of a group: a setting with a default always has one, one without may be undefined. */
export type EnvSettingValues<S extends Record<string, EnvSetting>> = {
  readonly [K in keyof S]: S[K] extends { default: string } ? ValueOf<S[K]['type']> : ValueOf<S[K]['type']> | undefined;
};

/**
 * Reads and checks every setting of the group from `env`; throws one ConfigError listing every problem, each as
 * `VARIABLE: problem`. The values are then of their declared types.
 */
export function readEnvSettings<S extends Record<string, EnvSetting>>(
  group: EnvSettingGroup<S>,
  env: NodeJS.ProcessEnv,
): EnvSettingValues<S> {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(group.settings)) {
    const raw = env[setting.env] || setting.default;
    if (raw === undefined) continue;
    try {
      const value = fromEnv(setting.type, setting.env, raw);
      const problem = check(setting.type, value);
      if (problem) problems.push(`${setting.env}: ${problem}`);
      else values[key] = value;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // Every value was checked against its declared type above, which is what EnvSettingValues states.
  return values as EnvSettingValues<S>;
}
