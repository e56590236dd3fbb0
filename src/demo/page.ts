/**
 * The demo client's one page. Server-rendered (who is signed in, login or logout buttons) with its state embedded
 * as JSON for the script; the script and the style are inline and allowed by the response's CSP nonce only.
 *
 * Rules: every value is HTML-escaped; the embedded JSON escapes `<` so it cannot close the script element; no
 * token is ever written into the page.
 */
import { readFileSync } from 'node:fs';
import { escapeHtml } from '../web/views.ts';
import type { LifecycleEvent, User } from './sessions.ts';

// Next to Gatehouse's templates in views/, so the same relative path works from src/ and from a dist/ build.
const script = readFileSync(new URL('../../views/demo/page.js', import.meta.url), 'utf8');
const style = readFileSync(new URL('../../views/demo/page.css', import.meta.url), 'utf8');

interface PageState {
  user: User | undefined;
  expiresAt: number | undefined;
  events: LifecycleEvent[];
  issuer: string;
  apiUrl: string;
  /** A problem to show (e.g. a failed login). */
  problem?: string;
}

function who(user: User): string {
  const name = escapeHtml(user.name ?? user.username ?? user.sub);
  const details = [user.username, user.email].filter(Boolean).map(escapeHtml).join(', ');
  return `<p class="who">Signed in as <strong id="user-name">${name}</strong>${details ? ` <span class="muted">(${details})</span>` : ''}</p>`;
}

export function renderPage(state: PageState, nonce: string): string {
  const json = JSON.stringify({ expiresAt: state.expiresAt ?? null, events: state.events }).replace(/</g, '\\u003c');
  const body = state.user
    ? `${who(state.user)}
<p>Access token: <span id="countdown" class="countdown">…</span>
  <span class="muted">— the refresh token stays on the server; this page never sees either token.</span></p>
<div class="actions">
  <button type="button" data-call="profile" id="call-profile">Call the API</button>
  <button type="button" data-call="admin" class="secondary" id="call-admin">Call the admin API</button>
  <form method="post" action="/logout"><button type="submit" class="secondary" id="logout">Sign out</button></form>
</div>
<h2>API answer</h2>
<pre id="answer">Press “Call the API”.</pre>`
    : `<p id="signed-out">You are not signed in.</p>
<div class="actions"><a class="button" href="/login" id="login">Sign in with Gatehouse</a></div>
<pre id="answer" hidden></pre>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Gatehouse demo client</title>
<style nonce="${escapeHtml(nonce)}">${style}</style>
</head>
<body>
<main>
<h1>Gatehouse demo: the token lifecycle</h1>
<p class="muted">Authorization server <code>${escapeHtml(state.issuer)}</code> · protected API <code>${escapeHtml(state.apiUrl)}</code></p>
${state.problem ? `<p class="error" id="problem">${escapeHtml(state.problem)}</p>` : ''}
${body}
<h2>Event log</h2>
<ol class="log" id="log"></ol>
</main>
<script type="application/json" id="state">${json}</script>
<script nonce="${escapeHtml(nonce)}">${script}</script>
</body>
</html>`;
}
