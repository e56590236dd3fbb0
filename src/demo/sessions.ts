/**
 * Server-side sessions of the demo web client. The browser holds only a random session id in an HttpOnly,
 * SameSite=Lax cookie; tokens never reach page JavaScript.
 *
 * Rules: ids are 256 random bits and change at sign-in (no session fixation); a session idles out after `idleMs`; at most `max` sessions are kept (the least
 * recently used goes first), so the in-memory store cannot grow without bound; each session keeps its last
 * `EVENT_LIMIT` events.
 */
import { randomBytes } from 'node:crypto';

type EventKind = 'login' | 'api' | '401' | 'refresh' | 'tokens' | 'logout' | 'error';

export interface LifecycleEvent {
  at: string;
  kind: EventKind;
  text: string;
}

export interface Tokens {
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  /** When the access token expires, ms since the epoch. */
  expiresAt: number;
}

export interface User {
  sub: string;
  name?: string;
  username?: string;
  email?: string;
}

export interface PendingLogin {
  state: string;
  nonce: string;
  verifier: string;
  startedAt: number;
}

export interface Session {
  readonly id: string;
  lastSeen: number;
  pending?: PendingLogin;
  tokens?: Tokens;
  user?: User;
  events: LifecycleEvent[];
  /** The refresh in progress, so concurrent API calls share one refresh (rotation allows one use). */
  refreshing?: Promise<boolean>;
}

const EVENT_LIMIT = 50;

export function record(session: { events: LifecycleEvent[] }, kind: EventKind, text: string): void {
  session.events.push({ at: new Date().toISOString(), kind, text });
  if (session.events.length > EVENT_LIMIT) session.events.splice(0, session.events.length - EVENT_LIMIT);
}

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #idleMs: number;
  readonly #max: number;

  constructor(idleMs = 8 * 3_600_000, max = 1000) {
    this.#idleMs = idleMs;
    this.#max = max;
  }

  create(): Session {
    while (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value as string;
      this.#sessions.delete(oldest);
    }
    const session: Session = { id: randomBytes(32).toString('base64url'), lastSeen: Date.now(), events: [] };
    this.#sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (Date.now() - session.lastSeen > this.#idleMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeen = Date.now();
    // Re-insert: Map order is the LRU order used for eviction.
    this.#sessions.delete(id);
    this.#sessions.set(id, session);
    return session;
  }

  /** A new id for the same session (after sign-in, so an id planted before it is worthless). */
  rotate(session: Session): Session {
    this.#sessions.delete(session.id);
    const fresh: Session = { ...session, id: randomBytes(32).toString('base64url'), lastSeen: Date.now() };
    this.#sessions.set(fresh.id, fresh);
    return fresh;
  }

  destroy(id: string): void {
    this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }
}
