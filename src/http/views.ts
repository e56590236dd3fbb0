/**
 * Renders the HTML templates in views/. `{{name}}` is HTML-escaped, always; `{{{name}}}` inserts markup that
 * the caller built from escaped parts. Templates are read once at start-up. Every page goes through the layout,
 * which carries the CSP nonce for its one inline style.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const viewsDir = fileURLToPath(new URL('../../views/', import.meta.url));

export type ViewName = 'login' | 'consent' | 'error' | 'logout' | 'logged-out';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ESCAPES[c] as string);
}

function fill(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}/g, (_, raw?: string, escaped?: string) =>
    raw ? String(values[raw] ?? '') : escapeHtml(values[escaped as string]),
  );
}

export class Views {
  readonly #templates = new Map<string, string>();

  constructor() {
    for (const name of ['layout', 'login', 'consent', 'error', 'logout', 'logged-out']) {
      this.#templates.set(name, readFileSync(`${viewsDir}${name}.html`, 'utf8'));
    }
  }

  /** A page whose body the caller built from escaped parts (development pages that have no template). */
  page(title: string, nonce: string, body: string): string {
    return fill(this.#templates.get('layout') as string, { title, nonce, body });
  }

  render(name: ViewName, title: string, nonce: string, values: Record<string, unknown>): string {
    const body = fill(this.#templates.get(name) as string, values);
    return fill(this.#templates.get('layout') as string, { title, nonce, body });
  }
}
