/**
 * Renders the HTML templates in views/. Templates are read once at start-up; every page goes through the layout,
 * which carries the brand, the language (`<html lang>`) and the stylesheet and script under the response's CSP nonce.
 *
 * Template syntax:
 * - `{{name}}` is the HTML-escaped value, always;
 * - `{{{name}}}` inserts markup that the caller built from escaped parts;
 * - `[[key]]` is the message `key` from the page's language catalogue (src/web/i18n.ts), its placeholders filled
 *   from the same values (escaped). Page text lives only in the catalogues, never in a template.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/types.ts';
import { type Assets, createAssets } from './assets.ts';
import { escapeHtml } from './html.ts';
import type { Language } from '../config/languages.ts';
import { chooseLanguage, type LanguageRequest, loadMessages, type Messages } from './i18n.ts';

export { escapeHtml } from './html.ts';

const viewsDir = fileURLToPath(new URL('../../views/', import.meta.url));

export type ViewName =
  | 'login'
  | 'consent'
  | 'error'
  | 'logout'
  | 'logged-out'
  | 'device'
  | 'device-confirm'
  | 'second-factor'
  | 'totp-setup'
  | 'account-security'
  | 'recovery-codes'
  | AccountView;

/** The account center's pages (src/account/routes.ts). */
type AccountView =
  | 'account'
  | 'account-forgot'
  | 'account-reset'
  | 'account-notice'
  | 'account-verify'
  | 'account-register';
const ACCOUNT_VIEWS: readonly AccountView[] = [
  'account',
  'account-forgot',
  'account-reset',
  'account-notice',
  'account-verify',
  'account-register',
];

/** Views that need the script (progressive enhancement only). */
const SCRIPTED: ReadonlySet<ViewName> = new Set(['login', 'second-factor', 'totp-setup', 'account-security']);
/** Views that also load the passkey scripts. */
const PASSKEYS: ReadonlySet<ViewName> = new Set(['login', 'second-factor', 'account-security']);

/** Fills `{{{raw}}}`, `{{escaped}}` and `[[message.key]]` (from `messages`, placeholders from `values`). */
function fill(messages: Messages, template: string, values: Record<string, unknown>): string {
  return template.replace(
    /\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}|\[\[([\w.]+)\]\]/g,
    (_, raw?: string, escaped?: string, key?: string) => {
      if (raw) return String(values[raw] ?? '');
      if (escaped) return escapeHtml(values[escaped]);
      return key ? messages.html(key, values) : '';
    },
  );
}

interface Page {
  language: Language;
  nonce: string;
  /** The `<title>` before the brand name, as HTML (a message from `messages.html`). */
  title: string;
}

export class Views {
  readonly assets: Assets;
  readonly #templates = new Map<string, string>();
  readonly #messages: ReadonlyMap<Language, Messages>;
  readonly #brand: Config['brand'];
  readonly #defaultLanguage: Language;

  constructor(config: Pick<Config, 'brand' | 'pages'>) {
    const names = [
      'layout',
      'login',
      'consent',
      'error',
      'logout',
      'logged-out',
      'device',
      'device-confirm',
      'second-factor',
      'totp-setup',
      'account-security',
      'recovery-codes',
    ];
    for (const name of [...names, ...ACCOUNT_VIEWS]) {
      this.#templates.set(name, readFileSync(`${viewsDir}${name}.html`, 'utf8'));
    }
    this.#messages = loadMessages();
    this.#brand = config.brand;
    this.#defaultLanguage = config.pages.defaultLanguage;
    this.assets = createAssets(config.brand.accent);
  }

  get brandName(): string {
    return this.#brand.name;
  }

  language(request: LanguageRequest): Language {
    return chooseLanguage(request, this.#defaultLanguage);
  }

  messages(language: Language): Messages {
    const messages = this.#messages.get(language);
    if (!messages) throw new Error(`no message catalogue for ${language}`);
    return messages;
  }

  render(name: ViewName, page: Page, values: Record<string, unknown>): string {
    const messages = this.messages(page.language);
    const body = fill(messages, this.#template(name), { brand: this.#brand.name, ...values });
    return this.#layout(messages, page, body, SCRIPTED.has(name), PASSKEYS.has(name));
  }

  /** A page whose body the caller built from escaped parts (development pages that have no template), in English. */
  page(title: string, nonce: string, body: string): string {
    return this.#layout(this.messages('en'), { language: 'en', title, nonce }, body, false);
  }

  #template(name: ViewName | 'layout'): string {
    const template = this.#templates.get(name);
    if (template === undefined) throw new Error(`no template views/${name}.html`);
    return template;
  }

  #layout(messages: Messages, page: Page, body: string, scripted: boolean, passkeys = false): string {
    const logo = this.#brand.logoUrl || this.assets.favicon;
    return fill(messages, this.#template('layout'), {
      lang: page.language,
      title: page.title,
      brand: this.#brand.name,
      nonce: page.nonce,
      favicon: this.assets.favicon,
      stylesheet: this.assets.stylesheet,
      script: (scripted ? [this.assets.script, ...(passkeys ? this.assets.passkeyScripts : [])] : [])
        .map((src) => `<script src="${escapeHtml(src)}" nonce="${escapeHtml(page.nonce)}" defer></script>`)
        .join('\n'),
      logo,
      body,
    });
  }
}
