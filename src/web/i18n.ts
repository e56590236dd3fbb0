/**
 * The text of every page, from the message catalogues in views/i18n/<language>.json, and the choice of language.
 *
 * Rules:
 * - A page's language is the first of the request's `ui_locales` (OIDC Core 3.1.2.1, space-separated, in order of
 *   preference) that Gatehouse speaks, then the best `Accept-Language` entry it speaks, then the configured default.
 *   A tag matches on its primary language subtag: `de-CH` is served German.
 * - Catalogues are read once at start-up; a missing catalogue or a key one catalogue lacks stops the start
 *   (tests/pages/i18n.test.ts also checks that every catalogue has exactly the same keys).
 * - Messages are plain text. `{name}` is replaced by the HTML-escaped value; `{*name}` by the same value in `<strong>`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LANGUAGES, type Language } from '../config/languages.ts';
import { escapeHtml } from './html.ts';

const i18nDir = fileURLToPath(new URL('../../views/i18n/', import.meta.url));

type Catalogue = Readonly<Record<string, string>>;

export function readCatalogue(language: string): Catalogue {
  const parsed: unknown = JSON.parse(readFileSync(`${i18nDir}${language}.json`, 'utf8'));
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    Array.isArray(parsed) ||
    !Object.values(parsed).every((v) => typeof v === 'string')
  ) {
    throw new Error(`views/i18n/${language}.json must be an object of strings`);
  }
  return Object.freeze(parsed as Record<string, string>);
}

/** One language's messages, as HTML-safe strings. */
export class Messages {
  readonly language: Language;
  readonly #catalogue: Catalogue;

  constructor(language: Language, catalogue: Catalogue) {
    this.language = language;
    this.#catalogue = catalogue;
  }

  has(key: string): boolean {
    return key in this.#catalogue;
  }

  /** The message as HTML: escaped text, placeholders filled with escaped values. */
  html(key: string, values: Record<string, unknown> = {}): string {
    const text = this.#catalogue[key];
    if (text === undefined) throw new Error(`no message ${key} in views/i18n/${this.language}.json`);
    return escapeHtml(text).replace(/\{(\*?)(\w+)\}/g, (_, strong: string, name: string) => {
      const value = escapeHtml(values[name]);
      return strong ? `<strong>${value}</strong>` : value;
    });
  }
}

export function loadMessages(): ReadonlyMap<Language, Messages> {
  const all = new Map<Language, Messages>();
  for (const language of LANGUAGES) all.set(language, new Messages(language, readCatalogue(language)));
  const keys = (l: Language) => Object.keys(readCatalogue(l)).sort().join('\n');
  for (const language of LANGUAGES) {
    if (keys(language) !== keys(LANGUAGES[0]))
      throw new Error(`views/i18n/${language}.json does not have the same keys as ${LANGUAGES[0]}.json`);
  }
  return all;
}

function speak(tag: string): Language | undefined {
  const primary = tag.trim().split('-')[0]?.toLowerCase();
  return LANGUAGES.find((l) => l === primary);
}

/** Accept-Language entries in order of preference (RFC 9110 12.5.4); `q=0` means "not this one". */
function acceptLanguage(header: string): string[] {
  return header
    .split(',')
    .slice(0, 32)
    .map((part, index) => {
      const [tag = '', ...params] = part.split(';');
      const q = params.map((p) => /^\s*q=([01](?:\.\d{0,3})?)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((e) => e.tag && e.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map((e) => e.tag);
}

export interface LanguageRequest {
  /** The authorization or logout request's `ui_locales`, if any. */
  uiLocales?: unknown;
  acceptLanguage?: string;
}

export function chooseLanguage({ uiLocales, acceptLanguage: header }: LanguageRequest, fallback: Language): Language {
  const fromUi = typeof uiLocales === 'string' ? uiLocales.split(' ').slice(0, 32) : [];
  for (const tag of [...fromUi, ...acceptLanguage(header ?? '')]) {
    const language = speak(tag);
    if (language) return language;
  }
  return fallback;
}
