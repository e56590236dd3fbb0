/**
 * The audit trail: one JSON log line per security-relevant event, written through the service logger at `info`
 * with `audit: <event>` (the event name), `requestId`, `clientId` and `sub`, plus a few event-specific fields.
 *
 * Rules:
 * - Event names are a closed string union (below); docs/operations.md "Audit events" lists each with its meaning.
 * - Only the fields named in `AuditFields` are ever written, copied one by one as short strings, so a caller
 *   cannot pass a token, code, password, secret or cookie through by accident (an object spread, a cast).
 * - `reason` is for operators only (e.g. why a sign-in failed); the user always sees the same generic page.
 * - The request id comes from the request scope, so events raised deep inside oidc-provider or the throttle
 *   still join the access log line of their request (`reqId` there).
 * - One fact, one line: a reuse of a refresh token or code is `*.reuse_detected` only (the family revocation it
 *   causes is part of that event, not a separate `grant.revoked`).
 */
import type { Logger } from 'pino';
import { currentScope } from '../web/request-labels.ts';

export type AuditEvent =
  /** A user signed in with the right password. */
  | 'login.success'
  /** A sign-in failed; `reason`: unknown | bad_password | disabled | locked | throttled. */
  | 'login.failure'
  /** Too many failures locked a username (`kind: user`) or a client IP (`kind: ip`). */
  | 'login.locked'
  /** A sign-in was refused with 503 because the password-hashing queue was full (nothing was checked). */
  | 'login.busy'
  | 'consent.granted'
  | 'consent.denied'
  /** The token endpoint issued tokens for an authorization_code or client_credentials grant (`grantType`). */
  | 'token.issued'
  /** A refresh token was used (and rotated) for new tokens. */
  | 'token.refreshed'
  /** A token was revoked at the revocation endpoint (`tokenType`: AccessToken, RefreshToken, ClientCredentials). */
  | 'token.revoked'
  /** A consumed refresh token came back after the reuse interval: its whole family was revoked. */
  | 'refresh_token.reuse_detected'
  /** A used authorization code came back: the grant and every token of it were revoked (no `sub`: oidc-provider
   *  revokes before it exposes the code's record). */
  | 'authorization_code.reuse_detected'
  /** A grant ended, with every token of it (`reason`: the route that ended it, e.g. revocation, end_session_confirm). */
  | 'grant.revoked'
  /** A browser session at Gatehouse ended (RP-initiated logout). */
  | 'logout'
  /** A client failed to authenticate at the token, introspection, revocation or PAR endpoint. */
  | 'client_auth.failure'
  /** A rate limit refused a request (`kind`: ip | client). */
  | 'rate_limit.exceeded'
  /** Account center (docs/account.md): sessions ended (`reason`; `kind`: how many). */
  | 'account.sessions_ended'
  /** The user changed their password on /account. */
  | 'account.password_changed'
  /** A reset link was asked for (`reason`: sent | unknown | throttled; the answer to the user is always the same). */
  | 'account.reset_requested'
  /** A reset link set a new password (every session of the account ended). */
  | 'account.password_reset'
  /** A reset or verification link was refused (unknown, used, expired or tampered). */
  | 'account.link_refused'
  /** The user removed an application's access on /account. */
  | 'account.access_removed'
  /** An email address was verified by its link. */
  | 'account.email_verified'
  /** The user changed their email address on /account (a verification link went to the new one). */
  | 'account.email_changed'
  /** Self-service sign-up created an account. */
  | 'account.registered'
  /** A resource server exchanged a user's access token for one for `audience` (RFC 8693; `kind`: impersonation | delegation). */
  | 'token.exchanged'
  /** A client acknowledged a back-channel logout token (`attempts`). */
  | 'backchannel_logout.delivered'
  /** A back-channel logout delivery failed and will be retried (`reason`, `attempts`). */
  | 'backchannel_logout.failed'
  /** A back-channel logout was given up after its last attempt (`reason`, `attempts`). */
  | 'backchannel_logout.abandoned'
  /** A dynamically registered client was removed after DYNAMIC_CLIENT_IDLE_DAYS without use. */
  | 'client.expired'
  /** A second factor was added (`factor`: passkey | totp | recovery_codes) — docs/mfa.md. */
  | 'mfa.enrolled'
  /** A second factor was removed (`factor`; `reason: admin_reset` from the CLI). */
  | 'mfa.removed'
  /** A sign-in passed a second factor, or a passkey sign-in succeeded (`factor`). */
  | 'mfa.success'
  /** A second factor was refused (`factor`; `reason` when it was not checked at all, e.g. throttled). */
  | 'mfa.failure';

export interface AuditFields {
  readonly clientId?: unknown;
  readonly sub?: unknown;
  /** Internal reason, for operators. */
  readonly reason?: unknown;
  readonly kind?: unknown;
  readonly grantType?: unknown;
  readonly tokenType?: unknown;
  readonly ip?: unknown;
  readonly audience?: unknown;
  readonly attempts?: unknown;
  readonly factor?: unknown;
}

export type Audit = (event: AuditEvent, fields?: AuditFields) => void;

/** The only fields an audit line carries besides `audit` and `requestId`, each as a string. */
export const AUDIT_FIELDS = [
  'clientId',
  'sub',
  'reason',
  'kind',
  'grantType',
  'tokenType',
  'ip',
  'audience',
  'attempts',
  'factor',
] as const;

function short(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  return value.length > 128 ? `${value.slice(0, 128)}…` : value;
}

/**
 * Builds the audit emitter. `observe` sees every event after it is logged (metrics count them), so the
 * counters and the trail cannot disagree. A line holds only `audit`, `requestId` and AUDIT_FIELDS, as strings: no
 * name the logger redacts (tests/operations/logging.test.ts checks), so `log` may be one without redaction.
 */
export function createAudit(log: Logger, observe?: (event: AuditEvent, fields: AuditFields) => void): Audit {
  return (event, fields = {}) => {
    const line: Record<string, string> = { audit: event };
    const requestId = currentScope()?.requestId;
    if (requestId) line.requestId = requestId;
    for (const name of AUDIT_FIELDS) {
      const value = short(fields[name]);
      if (value !== undefined) line[name] = value;
    }
    log.info(line, event);
    observe?.(event, fields);
  };
}
