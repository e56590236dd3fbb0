/**
 * The message catalogues and the language choice: every catalogue has exactly the same keys and placeholders, every
 * message a template names exists, templates hold no text of their own, and discovery lists the languages.
 */
import { readdirSync, readFileSync } from 'node:fs';
import test from 'ava';
import { LANGUAGES } from '../../src/config/languages.ts';
import { chooseLanguage } from '../../src/web/i18n.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { catalogue } from './browser.ts';
import { defined } from '../helpers/defined.ts';

const placeholders = (text: string) => [...text.matchAll(/\{\*?\w+\}/g)].map((m) => m[0]).sort();

test('every catalogue has exactly the same keys, the same placeholders and no empty message', (t) => {
  const files = readdirSync('views/i18n').filter((f) => f.endsWith('.json'));
  t.deepEqual(
    files.map((f) => f.replace(/\.json$/, '')).sort(),
    [...LANGUAGES].sort(),
    'one catalogue per language, no stray file',
  );
  const reference = catalogue(LANGUAGES[0]);
  for (const language of LANGUAGES) {
    const messages = catalogue(language);
    t.deepEqual(Object.keys(messages).sort(), Object.keys(reference).sort(), `${language}: keys`);
    for (const [key, text] of Object.entries(messages)) {
      t.true(text.trim().length > 0, `${language} ${key}: empty`);
      t.deepEqual(
        placeholders(text),
        placeholders(defined(reference[key], 'reference[key]')),
        `${language} ${key}: placeholders`,
      );
    }
  }
});

test('every [[message]] a template names exists, and templates carry no text outside the catalogues', (t) => {
  const keys = new Set(Object.keys(catalogue('en')));
  for (const file of readdirSync('views').filter((f) => f.endsWith('.html'))) {
    const template = readFileSync(`views/${file}`, 'utf8');
    for (const [, key] of template.matchAll(/\[\[([\w.]+)\]\]/g)) t.true(keys.has(key as string), `${file}: ${key}`);
    // What is left between tags once placeholders are gone must be empty or punctuation.
    const text = template
      .replace(/<title>[\s\S]*?<\/title>/, '')
      .replace(/\{\{\{?\w+\}?\}\}|\[\[[\w.]+\]\]/g, '')
      .replace(/<[^>]*>/g, ' ');
    t.notRegex(text, /\p{L}/u, `${file}: text outside the catalogues: ${text.replace(/\s+/g, ' ').trim()}`);
  }
});

test('chooseLanguage: ui_locales in order, then Accept-Language by q-value, then the default', (t) => {
  t.is(chooseLanguage({ uiLocales: 'de-CH en' }, 'en'), 'de');
  t.is(
    chooseLanguage({ uiLocales: 'fr ja', acceptLanguage: 'de' }, 'en'),
    'de',
    'no ui_locale spoken: the browser decides',
  );
  t.is(chooseLanguage({ acceptLanguage: 'fr;q=0.9, en;q=0.1, de;q=0.5' }, 'en'), 'de');
  t.is(chooseLanguage({ acceptLanguage: 'DE-de' }, 'en'), 'de', 'tags are case-insensitive');
  t.is(chooseLanguage({ acceptLanguage: 'de;q=0' }, 'en'), 'en', 'q=0 means not this one');
  t.is(chooseLanguage({ acceptLanguage: '*' }, 'de'), 'de');
  t.is(
    chooseLanguage({ uiLocales: ['de'], acceptLanguage: 'x'.repeat(10_000) }, 'en'),
    'en',
    'a non-string ui_locales and junk are ignored',
  );
});

test('discovery lists every shipped language in ui_locales_supported', async (t) => {
  const gh = await startGatehouse(t);
  const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as {
    ui_locales_supported: string[];
  };
  t.deepEqual(discovery.ui_locales_supported, [...LANGUAGES]);
});
