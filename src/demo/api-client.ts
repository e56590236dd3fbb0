/**
 * Calls the demo API on behalf of a signed-in session, with the silent refresh the demo is about.
 *
 * Rules:
 * - The access token is sent as `Authorization: Bearer` and used until the API refuses it: no early refresh, so
 *   the 401 → refresh → retry step is visible in the event log.
 * - On `401 invalid_token` the client refreshes ONCE with the rotating refresh token and retries the original
 *   request once. Concurrent calls of one session share that refresh (a refresh token is good for one use).
 * - If the refresh fails, the session's tokens are dropped and the caller is told to sign in again.
 */
import type { DemoClientConfig } from './config.ts';
import { oauthError, type RelyingParty } from './relying-party.ts';
import { record, type Session } from './sessions.ts';

interface ApiAnswer {
  status: number;
  body: unknown;
  /** False when the session can no longer call the API (refresh failed, or never signed in). */
  signedIn: boolean;
}

function bearerError(res: Response): string | undefined {
  return /error="([^"]*)"/.exec(res.headers.get('www-authenticate') ?? '')?.[1];
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return text.slice(0, 2000);
  }
}

export class ApiClient {
  readonly #cfg: DemoClientConfig;
  readonly #rp: RelyingParty;

  constructor(cfg: DemoClientConfig, rp: RelyingParty) {
    this.#cfg = cfg;
    this.#rp = rp;
  }

  async #send(path: string, accessToken: string): Promise<Response> {
    return fetch(`${this.#cfg.apiUrl}${path}`, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(5000),
    });
  }

  /** Refreshes the session's tokens; true when new tokens are in place. Shared by concurrent callers. */
  refresh(session: Session): Promise<boolean> {
    session.refreshing ??= (async () => {
      const tokens = session.tokens;
      if (!tokens?.refreshToken) return false;
      record(session, 'refresh', 'Refreshing silently with the refresh token (it rotates: this one is now used up)');
      try {
        session.tokens = await this.#rp.refresh(tokens.refreshToken, tokens);
        const seconds = Math.round((session.tokens.expiresAt - Date.now()) / 1000);
        record(session, 'tokens', `New tokens: an access token valid ${seconds} s and a new refresh token`);
        return true;
      } catch (err) {
        const code = oauthError(err);
        record(
          session,
          'error',
          `Refresh failed (${code ?? 'authorization server unreachable'}): please sign in again`,
        );
        if (code) {
          session.tokens = undefined;
          session.user = undefined;
        }
        return false;
      }
    })().finally(() => {
      session.refreshing = undefined;
    });
    return session.refreshing;
  }

  async call(session: Session, path: string): Promise<ApiAnswer> {
    const tokens = session.tokens;
    if (!tokens) return { status: 401, body: { error_description: 'not signed in' }, signedIn: false };
    let res: Response;
    try {
      res = await this.#send(path, tokens.accessToken);
      record(session, 'api', `GET ${path} → ${res.status}`);
      if (res.status === 401 && bearerError(res) === 'invalid_token') {
        const why =
          /error_description="([^"]*)"/.exec(res.headers.get('www-authenticate') ?? '')?.[1] ?? 'invalid token';
        record(session, '401', `The API refused the access token: ${why}`);
        await res.body?.cancel();
        if (!(await this.refresh(session)) || !session.tokens) {
          return {
            status: 401,
            body: { error_description: 'the session ended: sign in again' },
            signedIn: session.tokens !== undefined,
          };
        }
        res = await this.#send(path, session.tokens.accessToken);
        record(session, 'api', `Retried GET ${path} with the new access token → ${res.status}`);
      }
    } catch (err) {
      record(session, 'error', `The API is unreachable (${(err as Error).name})`);
      return {
        status: 502,
        body: { error: 'bad_gateway', error_description: 'the demo API is unreachable' },
        signedIn: true,
      };
    }
    return { status: res.status, body: await readBody(res), signedIn: true };
  }
}
