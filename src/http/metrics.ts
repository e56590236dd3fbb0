/**
 * Prometheus metrics (prom-client) at `GET /metrics`: on the main port, or with `metrics.port` on a separate
 * listener that serves nothing else (src/main.ts).
 *
 * Rules:
 * - Every instance has its own `Registry` (never prom-client's global one), so two Gatehouses in one process —
 *   tests, the demo — do not collide, and process/event-loop metrics (`collectDefaultMetrics`) go to that registry.
 * - Label values are bounded: a route *name* (oidc-provider's `ctx.oidc.route`, Gatehouse's own names, or
 *   `unmatched`), never a raw path with ids; a status code; a grant type from a fixed list; a storage operation
 *   name from the Store interface; a client id only of a registered client.
 * - The counters of tokens, reuse, login failures and lockouts are fed by the audit trail (src/audit), so a
 *   metric and the audit lines cannot disagree.
 * - No metric tells a known username from an unknown one: sign-in failures are one counter without a reason
 *   (unknown user, wrong password, disabled or locked account move it alike); the reason is in the audit log.
 *   Account center events are counted by event name only: a reset request moves the same series whatever the
 *   account (its `reason` stays in the audit line).
 * - `/metrics` is off with `metrics.enabled=false`; with `metrics.token` set it needs `Authorization: Bearer
 *   <token>`, compared in constant time (SHA-256 of both sides, then `timingSafeEqual`), else 401.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { AuditEvent, AuditFields } from '../audit/audit.ts';
import { HttpError } from '../web/errors.ts';
import { currentScope } from '../web/request-labels.ts';

interface MetricsOptions {
  readonly enabled: boolean;
  /** Empty: no authentication on /metrics. */
  readonly token: string;
}

/** Routes that oidc-provider did not route itself (refused before it: 413, 429) or that Gatehouse serves. */
const FIXED_ROUTES: Record<string, string> = {
  '/healthz': 'healthz',
  '/readyz': 'readyz',
  '/metrics': 'metrics',
  '/auth': 'authorization',
  '/token': 'token',
  '/token/introspection': 'introspection',
  '/token/revocation': 'revocation',
  '/request': 'pushed_authorization_request',
  '/me': 'userinfo',
  '/jwks': 'jwks',
  '/session/end': 'end_session',
  '/.well-known/openid-configuration': 'discovery',
};
const INTERACTION = /^\/interaction\/[^/]+(?:\/(login|confirm|abort))?$/;
const GRANT_TYPES = new Set(['authorization_code', 'refresh_token', 'client_credentials']);
const END_REASONS = new Set(['device_signout', 'signout_others', 'password_change', 'password_reset', 'admin_signout']);
/** The `factor` label's values (docs/mfa.md); anything else counts as `other`, so the label stays bounded. */
const MFA_FACTORS = new Set(['passkey', 'totp', 'totp_setup', 'recovery_code', 'recovery_codes']);

function routeName(ctx: Context): string {
  const named = currentScope()?.route;
  if (named) return named;
  const fixed = FIXED_ROUTES[ctx.path];
  if (fixed) return fixed;
  const interaction = INTERACTION.exec(ctx.path);
  if (interaction) return interaction[1] ? `interaction_${interaction[1]}` : 'interaction';
  return 'unmatched';
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The text format spells a not-a-number sample `NaN`; prom-client writes `Nan` (e.g. the event-loop lag gauges of
 * a scrape that follows another before any lag was sampled), which strict parsers refuse.
 */
function exposition(text: string): string {
  return text.replace(/ Nan$/gm, ' NaN');
}

export class Metrics {
  readonly registry = new Registry();
  readonly #options: MetricsOptions;
  readonly #tokenDigest: Buffer | undefined;
  readonly #http = new Map<string, { requests: Counter.Internal; duration: Histogram.Internal<string> }>();
  readonly #storageSeries = new Map<string, Histogram.Internal<string>>();

  readonly #requests = new Counter({
    name: 'gatehouse_http_requests_total',
    help: 'HTTP requests answered, by route name, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly #duration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route name, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly #tokens = new Counter({
    name: 'gatehouse_tokens_issued_total',
    help: 'Successful token endpoint responses, by grant type.',
    labelNames: ['grant_type'] as const,
    registers: [this.registry],
  });
  readonly #reuse = new Counter({
    name: 'gatehouse_token_reuse_detected_total',
    help: 'Consumed refresh tokens (token="refresh_token") or authorization codes presented again; each revoked its family.',
    labelNames: ['token'] as const,
    registers: [this.registry],
  });
  readonly #loginFailures = new Counter({
    name: 'gatehouse_login_failures_total',
    help: 'Failed sign-ins, whatever the reason (the reason is in the audit log only: a label would tell known usernames from unknown ones).',
    registers: [this.registry],
  });
  readonly #lockouts = new Counter({
    name: 'gatehouse_login_lockouts_total',
    help: 'Locks set by the brute-force guard, by kind (user, ip).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly #mfa = new Counter({
    name: 'gatehouse_mfa_events_total',
    help: 'Second-factor events (enrolled, removed, success, failure), by factor (passkey, totp, totp_setup, recovery_code, recovery_codes, other).',
    labelNames: ['event', 'factor'] as const,
    registers: [this.registry],
  });
  readonly #backchannel = new Counter({
    name: 'gatehouse_backchannel_logouts_total',
    help: 'Back-channel logout delivery attempts, by outcome (delivered, failed: will be retried, abandoned: last attempt failed).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly #clientAuthFailures = new Counter({
    name: 'gatehouse_client_auth_failures_total',
    help: 'Failed client authentications at the token, introspection, revocation and PAR endpoints.',
    registers: [this.registry],
  });
  readonly #rateLimited = new Counter({
    name: 'gatehouse_rate_limited_total',
    help: 'Requests refused with 429 by a rate limit, by limit (ip, client) and registered client id ("unknown" when the request named no registered client).',
    labelNames: ['limit', 'client_id'] as const,
    registers: [this.registry],
  });
  readonly #accountEvents = new Counter({
    name: 'gatehouse_account_events_total',
    help: 'Account center events (the account.* audit events), by event; no reason label: a reset request for an unknown account moves it like one for a known account.',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly #sessionsEnded = new Counter({
    name: 'gatehouse_account_sessions_ended_total',
    help: 'Sessions ended by the account center or the CLI, by reason (device_signout, signout_others, password_change, password_reset, admin_signout).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly #storageDuration = new Histogram({
    name: 'gatehouse_storage_operation_duration_seconds',
    help: 'Latency of storage (Redis or memory) operations, by operation.',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });
  readonly #storageErrors = new Counter({
    name: 'gatehouse_storage_errors_total',
    help: 'Storage operations that failed because storage did not answer or broke (not protocol outcomes), by operation.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  constructor(options: MetricsOptions) {
    this.#options = options;
    this.#tokenDigest = options.token ? digest(options.token) : undefined;
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts and times every request. Put it after `requestScope` and before the error renderer. */
  http(): Middleware {
    return async (ctx, next) => {
      const started = performance.now();
      try {
        await next();
      } finally {
        const status = String(ctx.respond === false ? ctx.res.statusCode : ctx.status);
        const series = this.#httpSeries(routeName(ctx), ctx.method.length <= 7 ? ctx.method : 'OTHER', status);
        series.requests.inc();
        series.duration.observe((performance.now() - started) / 1000);
      }
    };
  }

  /** Serves `GET /metrics` (when enabled). */
  endpoint(): Middleware {
    const handle: Middleware = async (ctx) => {
      if (ctx.method !== 'GET') {
        ctx.set('Allow', 'GET');
        throw new HttpError(405, 'invalid_request', 'method not allowed');
      }
      if (this.#tokenDigest) {
        const given = /^Bearer (\S+)$/i.exec(ctx.get('authorization'))?.[1] ?? '';
        if (!timingSafeEqual(digest(given), this.#tokenDigest)) {
          throw new HttpError(401, 'invalid_token', 'a valid metrics bearer token is required', {
            'WWW-Authenticate': 'Bearer realm="metrics"',
          });
        }
      }
      ctx.set('Cache-Control', 'no-store');
      ctx.type = this.registry.contentType;
      ctx.body = exposition(await this.registry.metrics());
    };
    return (ctx, next) => (ctx.path !== '/metrics' || !this.#options.enabled ? next() : handle(ctx, next));
  }

  /** Audit events that are also counters. */
  observeAudit(event: AuditEvent, fields: AuditFields): void {
    switch (event) {
      case 'token.issued':
      case 'token.refreshed':
        this.#tokens.inc({
          grant_type:
            typeof fields.grantType === 'string' && GRANT_TYPES.has(fields.grantType) ? fields.grantType : 'other',
        });
        return;
      case 'refresh_token.reuse_detected':
        this.#reuse.inc({ token: 'refresh_token' });
        return;
      case 'authorization_code.reuse_detected':
        this.#reuse.inc({ token: 'authorization_code' });
        return;
      case 'login.failure':
        this.#loginFailures.inc();
        return;
      case 'login.locked':
        this.#lockouts.inc({ kind: fields.kind === 'ip' ? 'ip' : 'user' });
        return;
      case 'backchannel_logout.delivered':
      case 'backchannel_logout.failed':
      case 'backchannel_logout.abandoned':
        this.#backchannel.inc({ outcome: event.slice('backchannel_logout.'.length) });
        return;
      case 'mfa.enrolled':
      case 'mfa.removed':
      case 'mfa.success':
      case 'mfa.failure':
        this.#mfa.inc({
          event: event.slice('mfa.'.length),
          factor: typeof fields.factor === 'string' && MFA_FACTORS.has(fields.factor) ? fields.factor : 'other',
        });
        return;
      case 'client_auth.failure':
        this.#clientAuthFailures.inc();
        return;
      case 'rate_limit.exceeded':
        // The audit trail names only registered clients (src/gatehouse.ts), which bounds the label's values.
        this.#rateLimited.inc({
          limit: typeof fields.kind === 'string' ? fields.kind : 'other',
          client_id: typeof fields.clientId === 'string' ? fields.clientId : 'unknown',
        });
        return;
      case 'account.sessions_ended':
        this.#accountEvents.inc({ event });
        this.#sessionsEnded.inc(
          { reason: typeof fields.reason === 'string' && END_REASONS.has(fields.reason) ? fields.reason : 'other' },
          Number(fields.kind) || 1,
        );
        return;
      default:
        // Every account.* event is one of the audit trail's closed union, which bounds the label's values.
        if (event.startsWith('account.')) this.#accountEvents.inc({ event });
        return;
    }
  }

  observeStorage(operation: string, seconds: number, failed: boolean): void {
    let duration = this.#storageSeries.get(operation);
    if (!duration) {
      duration = this.#storageDuration.labels({ operation });
      this.#storageSeries.set(operation, duration);
    }
    duration.observe(seconds);
    if (failed) this.#storageErrors.inc({ operation });
  }

  /**
   * The labelled children of one HTTP series, kept so that a request does not hash its labels again; as bounded
   * as the labels themselves.
   */
  #httpSeries(
    route: string,
    method: string,
    status: string,
  ): { requests: Counter.Internal; duration: Histogram.Internal<string> } {
    const key = `${route} ${method} ${status}`;
    let series = this.#http.get(key);
    if (!series) {
      const labels = { route, method, status };
      series = { requests: this.#requests.labels(labels), duration: this.#duration.labels(labels) };
      this.#http.set(key, series);
    }
    return series;
  }
}
