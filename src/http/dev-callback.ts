/**
 * The demo client's landing page under `npm start` (development, in-memory store, demo seed only): where the
 * sign-in URL that `npm start` prints comes back, so that URL leads somewhere that works without another server.
 * It shows the authorization code and the exact `curl` that exchanges it at the token endpoint.
 *
 * Rules:
 * - Never served in production or on Redis: it exists only where the demo client does (see gatehouse.ts).
 * - The PKCE code_verifier never reaches the page: `npm start` printed it in the terminal as an `export`, and the
 *   curl reads it from the shell ($CODE_VERIFIER). The page alone cannot redeem the code.
 * - Everything from the query string is HTML-escaped and shell-quoted; the page is not cached.
 */
import type { Middleware } from 'koa';
import type { Config } from '../config/types.ts';
import { cspNonce } from '../web/security-headers.ts';
import { escapeHtml, type Views } from '../web/views.ts';

const DEV_CALLBACK_PATH = '/dev/callback';

export function devCallbackUri(config: Config): string {
  return new URL(DEV_CALLBACK_PATH, config.issuer).toString();
}

/** Single-quoted for a POSIX shell. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function tokenCurl(config: Config, code: string): string {
  return [
    `curl -s ${shellQuote(new URL('/token', config.issuer).toString())}`,
    '  -d grant_type=authorization_code',
    `  --data-urlencode client_id=${shellQuote(config.demo.clientId)}`,
    `  --data-urlencode code=${shellQuote(code)}`,
    `  --data-urlencode redirect_uri=${shellQuote(devCallbackUri(config))}`,
    '  --data-urlencode "code_verifier=$CODE_VERIFIER"',
  ].join(' \\\n');
}

export function devCallback(config: Config, views: Views): Middleware {
  const handle: Middleware = async (ctx) => {
    const code = typeof ctx.query.code === 'string' ? ctx.query.code : undefined;
    const error = typeof ctx.query.error === 'string' ? ctx.query.error : undefined;
    const description = typeof ctx.query.error_description === 'string' ? ctx.query.error_description : undefined;
    let body: string;
    if (code) {
      body = [
        '<h1>Signed in: now exchange the code</h1>',
        `<p>The demo client received this authorization code. It works once, within ${config.ttl.authorizationCode} seconds.</p>`,
        `<p><code>${escapeHtml(code)}</code></p>`,
        '<p>In the terminal, run the <code>export CODE_VERIFIER=…</code> line that <code>npm start</code> printed, then:</p>',
        `<pre>${escapeHtml(tokenCurl(config, code))}</pre>`,
        '<p>The answer holds an ID token, an access token and a refresh token.</p>',
      ].join('\n');
    } else if (error) {
      ctx.status = 400;
      body = [
        '<h1>The sign-in did not complete</h1>',
        `<p class="error" role="alert">${escapeHtml(error)}${description ? `: ${escapeHtml(description)}` : ''}</p>`,
      ].join('\n');
    } else {
      ctx.status = 400;
      body =
        '<h1>Nothing to show</h1>\n<p>This page is where the sign-in URL printed by <code>npm start</code> returns, with a code.</p>';
    }
    body +=
      '\n<p><small>Development only. To see the whole token lifecycle (sign-in, API calls, refresh, sign-out) in a web client, stop this server and run <code>npm run demo</code>.</small></p>';
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = views.page(code ? 'Signed in' : 'Sign-in not completed', cspNonce(ctx.res), body);
  };
  return (ctx, next) => (ctx.path !== DEV_CALLBACK_PATH || ctx.method !== 'GET' ? next() : handle(ctx, next));
}
