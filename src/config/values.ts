/**
 * How one setting's value is read and checked, shared by every loader of settings (load.ts for the server's,
 * env-settings.ts for the demo apps'): an environment string becomes the setting's type, and a value that does
 * not fit gets a problem in the same words wherever it is found. `nameOf` is how a problem names the setting.
 */
import { ConfigError } from './errors.ts';
import type { SettingType } from './schema.ts';

/** Turns an env string into the setting's type; the result is validated like any file value. */
export function fromEnv(type: SettingType, env: string, raw: string): unknown {
  switch (type.kind) {
    case 'int':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw.trim())) return true;
      if (/^(0|false|no|off)$/i.test(raw.trim())) return false;
      return raw;
    case 'strings':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    case 'json':
      try {
        return JSON.parse(raw);
      } catch {
        throw new ConfigError(`${env}: not valid JSON`);
      }
    default:
      return raw;
  }
}

/** What is wrong with a value of this type, or undefined when it fits. Never repeats the value (it may be secret). */
export function check(type: SettingType, value: unknown): string | undefined {
  switch (type.kind) {
    case 'string':
      if (typeof value !== 'string') return 'must be a string';
      if (type.nonEmpty && value.length === 0) return 'must not be empty';
      return undefined;
    case 'url':
      if (typeof value !== 'string' || !URL.canParse(value)) return 'must be an absolute URL';
      if (!/^https?:$/.test(new URL(value).protocol)) return 'must be an http(s) URL';
      return undefined;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return 'must be an integer';
      if (value < type.min || value > type.max) return `must be between ${type.min} and ${type.max}`;
      return undefined;
    case 'bool':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'enum':
      return typeof value === 'string' && type.values.includes(value)
        ? undefined
        : `must be one of ${type.values.join(', ')}`;
    case 'strings':
      return Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? undefined
        : 'must be a list of strings';
    case 'json':
      return Array.isArray(value) ? undefined : `must be an ${type.shape}`;
  }
}
