/**
 * The static files of Gatehouse's pages: the stylesheet, the progressive-enhancement script and the favicon,
 * built once at start-up from views/assets/ with the configured accent colour.
 *
 * Rules:
 * - Each file is served under a name carrying a hash of its bytes (`/assets/pages.<hash>.css`), cached for a year
 *   as immutable: a new accent or a new release gives new names, so a browser never keeps a stale copy.
 * - `/favicon.ico` (asked for by browsers and tools whatever a page says) answers the same SVG icon, cached a day.
 * - Only GET and HEAD; anything else under /assets/ falls through to the 404 page.
 * - Pages load the stylesheet and script with the response's CSP nonce; no inline style or script is needed.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Middleware } from 'koa';
import { accentShades } from '../config/colour.ts';

const assetsDir = fileURLToPath(new URL('../../views/assets/', import.meta.url));

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly cacheControl: string;
}

export interface Assets {
  readonly stylesheet: string;
  readonly script: string;
  /** The WebAuthn browser library (@simplewebauthn/browser) and the passkey glue (views/assets/mfa.js). */
  readonly passkeyScripts: readonly string[];
  readonly favicon: string;
  readonly middleware: Middleware;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

export function createAssets(accent: string): Assets {
  const shades = accentShades(accent);
  const css =
    `:root{--accent:${shades.accent};--accent-hover:${shades.hover};--accent-on-dark:${shades.onDark}}\n` +
    readFileSync(`${assetsDir}pages.css`, 'utf8');
  const svg = readFileSync(`${assetsDir}favicon.svg`, 'utf8').replaceAll('{{accent}}', shades.accent);
  const js = readFileSync(`${assetsDir}pages.js`, 'utf8');
  const webauthn = readFileSync(
    fileURLToPath(new URL('../dist/bundle/index.umd.min.js', import.meta.resolve('@simplewebauthn/browser'))),
    'utf8',
  );
  const mfa = readFileSync(`${assetsDir}mfa.js`, 'utf8');

  const files = new Map<string, Asset>();
  const add = (name: string, ext: string, text: string, type: string): string => {
    const body = Buffer.from(text);
    const path = `/assets/${name}.${createHash('sha256').update(body).digest('hex').slice(0, 12)}.${ext}`;
    files.set(path, { body, type, cacheControl: IMMUTABLE });
    return path;
  };
  const stylesheet = add('pages', 'css', css, 'text/css; charset=utf-8');
  const script = add('pages', 'js', js, 'text/javascript; charset=utf-8');
  const passkeyScripts = [
    add('webauthn', 'js', webauthn, 'text/javascript; charset=utf-8'),
    add('mfa', 'js', mfa, 'text/javascript; charset=utf-8'),
  ];
  const favicon = add('favicon', 'svg', svg, 'image/svg+xml');
  files.set('/favicon.ico', { body: Buffer.from(svg), type: 'image/svg+xml', cacheControl: 'public, max-age=86400' });

  const middleware: Middleware = (ctx, next) => {
    const asset = ctx.method === 'GET' || ctx.method === 'HEAD' ? files.get(ctx.path) : undefined;
    if (!asset) return next();
    ctx.type = asset.type;
    ctx.set('Cache-Control', asset.cacheControl);
    ctx.body = asset.body;
    return undefined;
  };
  return { stylesheet, script, passkeyScripts, favicon, middleware };
}
