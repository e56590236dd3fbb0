/**
 * Account mails (password reset, email verification, email-change notice): plain-text and HTML bodies from
 * views/mail/<name>.txt and .html, page text from the message catalogues (`[[key]]`, placeholders `{name}`),
 * values with `{{name}}` (HTML-escaped in the HTML body).
 *
 * With `mail.smtpUrl` the mail goes through nodemailer's SMTP transport. Without it (development only: production
 * refuses to start, src/config/load.ts) each mail is written to the log as one line with its link, so a developer
 * can follow it; that line is the only place a link is ever logged.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../config/types.ts';
import { escapeHtml } from '../web/html.ts';
import type { Language } from '../config/languages.ts';
import { readCatalogue } from '../web/i18n.ts';

const mailDir = fileURLToPath(new URL('../../views/mail/', import.meta.url));

type MailName = 'reset' | 'verify' | 'email-changed' | 'signup-exists';

interface Mail {
  to: string;
  name: MailName;
  language: Language;
  /** Values for the templates; `link` is the action link, if the mail has one. */
  values: Record<string, string>;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  close(): void;
}

function fill(template: string, language: Language, values: Record<string, string>, html: boolean): string {
  const catalogue = readCatalogue(language);
  const esc = (s: string) => (html ? escapeHtml(s) : s);
  return template.replace(/\{\{(\w+)\}\}|\[\[([\w.-]+)\]\]/g, (_, name?: string, key?: string) => {
    if (name) return esc(values[name] ?? '');
    const text = key === undefined ? undefined : catalogue[key];
    if (text === undefined) throw new Error(`no message ${key} in views/i18n/${language}.json`);
    return esc(text).replace(/\{\*?(\w+)\}/g, (_m, n: string) => esc(values[n] ?? ''));
  });
}

function renderMail(mail: Mail): { subject: string; text: string; html: string } {
  const template = (ext: string) => readFileSync(`${mailDir}${mail.name}.${ext}`, 'utf8');
  return {
    subject: fill(`[[mail.${mail.name}.subject]]`, mail.language, mail.values, false),
    text: fill(template('txt'), mail.language, mail.values, false),
    html: fill(template('html'), mail.language, mail.values, true),
  };
}

export function createMailer(config: Pick<Config, 'mail' | 'brand'>, log: Logger): Mailer {
  if (!config.mail.smtpUrl) {
    return {
      async send(mail) {
        log.info({ mail: mail.name, link: mail.values.link ?? '' }, 'mail not sent (no SMTP_URL): follow the link');
      },
      close() {},
    };
  }
  const transport = nodemailer.createTransport(config.mail.smtpUrl);
  return {
    async send(mail) {
      const body = renderMail({ ...mail, values: { brand: config.brand.name, ...mail.values } });
      await transport.sendMail({ from: config.mail.from, to: mail.to, ...body });
    },
    close() {
      transport.close();
    },
  };
}
