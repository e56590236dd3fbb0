/**
 * Assembles one Gatehouse instance from a validated config: store → accounts → keys → provider → Koa host app.
 * Returns the request handler and a `close` that releases storage. main.ts adds the HTTP server and signals.
 *
 * Every request is handled by one Koa application, the host app, with one context: oidc-provider's middleware
 * stack runs last, on the host app's context (src/provider/oidc-internals.ts point 5), so the host app has the
 * provider's `proxy` setting and shares its cookie keys (a known trap: otherwise the interaction routes cannot read
 * the provider's signed cookies). Request order: request id/log → canonical host/IP → security headers → errors →
 * health → page assets → body-size gate → browser and PAR rate limits → interaction pages → back-channel storage
 * scope and prefetch → token endpoint rate limits → oidc-provider's middleware (its `provider.use` additions, then
 * its routes).
 * Around all of it: the request scope (request id for audit lines) and the HTTP metrics; every store call goes
 * through the instrumented store (storage latency and errors); audit events come from src/audit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import { accountClient, accountRoutes } from './account/routes.ts';
import { withEmailIndex } from './account/email-index.ts';
import { withGrantIndex } from './account/grants.ts';
import { createMailer } from './account/mail.ts';
import { touchSession } from './account/sessions.ts';
import { PasswordPolicy } from './accounts/password-policy.ts';
import { createPasswordHasher } from './accounts/passwords.ts';
import { createAudit } from './audit/audit.ts';
import { auditProviderEvents } from './audit/provider-events.ts';
import { AccountService } from './accounts/service.ts';
import { createLoginThrottle } from './accounts/throttle.ts';
import { ConfigError } from './config/errors.ts';
import type { Config } from './config/types.ts';
import { demoClient, seedDemoUser, shouldSeed } from './demo/seed.ts';
import { authorizationPost } from './http/authorization-post.ts';
import { canonicalRequest } from './http/canonical-request.ts';
import { devCallback } from './http/dev-callback.ts';
import { errorRenderer, HttpError } from './web/errors.ts';
import { healthRoutes } from './http/health.ts';
import { Metrics } from './http/metrics.ts';
import { browserRateLimit, rateLimit } from './http/rate-limit.ts';
import { createInFlight } from './http/in-flight.ts';
import { requestContext } from './http/request-context.ts';
import { unredacted } from './http/logger.ts';
import { reportProviderRoute, requestScope } from './web/request-labels.ts';
import { securityHeaders } from './web/security-headers.ts';
import { Views } from './web/views.ts';
import { interactionRoutes } from './interactions/routes.ts';
import { accountSecurityRoutes } from './account/security-routes.ts';
import { createSecretBox } from './accounts/mfa/secret-box.ts';
import { MfaService } from './accounts/mfa/service.ts';
import { createProvider } from './provider/create-provider.ts';
import { type CookieKeys, loadCookieKeys, loadKeys, type PrivateJwks } from './provider/keys.ts';
import { providerMiddleware, tokenPrefetch } from './provider/oidc-internals.ts';
import { devicePollingPace } from './provider/device-flow.ts';
import { registrationPolicy } from './provider/registration.ts';
import { type DynamicClientExpiry, dynamicClientExpiry } from './provider/dynamic-client-expiry.ts';
import { type BackchannelLogout, installBackchannelLogout } from './provider/backchannel-logout.ts';
import { createStore } from './storage/create-store.ts';
import { checkMemoryPolicy } from './storage/redis/memory-policy.ts';
import { instrumentStore } from './storage/instrumented-store.ts';
import { StorageUnavailable, type Store } from './storage/types.ts';

/** How long `close` waits for requests still in the middleware before it closes storage anyway. */
const DRAIN_TIMEOUT_MS = 5_000;

export interface Gatehouse {
  readonly config: Config;
  readonly provider: Provider;
  readonly store: Store;
  readonly accounts: AccountService;
  readonly app: Koa;
  readonly metrics: Metrics;
  /** Back-channel logout: `notifyLogout` queues logout tokens for sessions that ended (src/provider/backchannel-logout.ts). */
  readonly backchannel: BackchannelLogout;
  /** Removes unused dynamically registered clients (DYNAMIC_CLIENT_IDLE_DAYS). */
  readonly clientExpiry: DynamicClientExpiry;
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** The separate metrics listener's handler (only /metrics), used when `metrics.port` is set. */
  metricsHandler(req: IncomingMessage, res: ServerResponse): void;
  /** Marks the instance as stopping (readiness turns 503) — used by graceful shutdown. */
  stopping(): void;
  close(): Promise<void>;
}

/**
 * Signing keys, cookie keys and storage, with every problem among them reported at once (an operator fixing a
 * deployment should not meet them one restart at a time): a ConfigError listing each.
 */
async function openResources(config: Config): Promise<{ jwks: PrivateJwks; cookieKeys: CookieKeys; store: Store }> {
  const problems: string[] = [];
  const attempt = async <T>(open: () => T | Promise<T>): Promise<T | undefined> => {
    try {
      return await open();
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else if (err instanceof StorageUnavailable)
        problems.push(`storage unavailable: ${err.error_detail ?? err.message}`);
      else throw err;
      return undefined;
    }
  };
  const jwks = await attempt(() => loadKeys(config));
  const cookieKeys = await attempt(() => loadCookieKeys(config));
  const store = await attempt(() => createStore(config));
  if (jwks && cookieKeys && store) return { jwks, cookieKeys, store };
  await store?.close();
  throw new ConfigError(problems);
}

export async function createGatehouse(config: Config, log: Logger): Promise<Gatehouse> {
  const metrics = new Metrics(config.metrics);
  const { jwks, cookieKeys, store: opened } = await openResources(config);
  // Every Grant is recorded in its account's grant index (Connected applications on /account), every email in
  // the email index (reset by email).
  const store = withEmailIndex(
    withGrantIndex(
      instrumentStore(opened, (operation, seconds, failed) => metrics.observeStorage(operation, seconds, failed)),
      config.ttl.refreshTokenAbsolute,
    ),
  );
  try {
    if (store.kind === 'redis') await checkMemoryPolicy(config, log);
    const hasher = await createPasswordHasher(config.argon2, { maxQueuedPerThread: config.argon2.maxQueuedPerThread });
    const policy = new PasswordPolicy(config.passwords);
    const accounts = new AccountService(store.accounts, hasher, policy);
    const views = new Views(config);
    const mfa = new MfaService(store.accounts, store.throttle, createSecretBox(cookieKeys), cookieKeys[0], {
      issuer: config.issuer,
      rpId: config.mfa.rpId || new URL(config.issuer).hostname,
      rpName: config.brand.name,
    });
    const seed = shouldSeed(config, store);
    const clients = [...config.clients, accountClient(config), ...(seed ? [demoClient(config)] : [])];
    if (seed) await seedDemoUser(config, accounts);

    const audit = createAudit(unredacted(log), (event, fields) => metrics.observeAudit(event, fields));
    const provider = createProvider({ config, store, accounts, jwks, cookieKeys, clients, views, audit });
    // Token issued/refreshed/revoked, reuse detected (one line per reuse, whichever of oidc-provider or the store
    // caught it: see src/audit/provider-events.ts), grant revoked, logout, client authentication failures.
    auditProviderEvents(provider, audit);
    const clientExpiry = dynamicClientExpiry(provider, store, config, audit);
    const backchannel = installBackchannelLogout(provider, { config, queue: opened.logoutQueue, jwks, audit, log });
    provider.on('server_error', (_ctx, err) => log.error({ err }, 'provider server_error'));

    // A session that completes an authorization is recorded for the account center's Devices (src/account/).
    provider.use(async (ctx, next) => {
      await next();
      const session = ctx.oidc?.entities.Session;
      if (
        (ctx.oidc?.route === 'authorization' || ctx.oidc?.route === 'resume') &&
        session?.accountId &&
        ctx.status < 400
      ) {
        await touchSession(
          { provider, index: store.sessionIndex, ttlSeconds: config.ttl.session, audit },
          session.accountId,
          session.uid,
          ctx.get('user-agent'),
          ctx.ip,
        );
      }
    });
    // The provider's route name becomes the metrics label of the request.
    provider.use(reportProviderRoute());
    // Only registered clients are named in the audit line and the metrics label of a refusal.
    const limits = rateLimit(store.throttle, config.rateLimit, config.bodyLimitBytes, async (kind, clientId) => {
      const client = clientId === undefined ? undefined : await provider.Client.find(clientId).catch(() => undefined);
      audit('rate_limit.exceeded', { kind, clientId: client?.clientId });
    });
    provider.use(limits.provider);
    // Requests that match no provider route (404) are rendered by the same error renderer as everything else.
    provider.use(errorRenderer(views, log));

    const guard = createLoginThrottle(store.throttle, config.loginThrottle, (kind) => audit('login.locked', { kind }));
    let isStopping = false;
    // The provider's `proxy` (it reads the X-Forwarded-* headers canonicalRequest writes); whether the client's own
    // X-Forwarded-For is believed is canonicalRequest's decision (`trustProxy`), and then only its last entry.
    const app = new Koa({ proxy: provider.proxy, maxIpsCount: 1, keys: cookieKeys });
    app.silent = true;
    // What Koa reports outside a response (a client that broke its request mid-body, an error that escaped
    // oidc-provider's middleware) would otherwise be printed to stderr with its stack. Parser errors carry the raw
    // request bytes (`rawPacket`: headers, form fields), so only the kind is logged.
    app.on('error', (err: NodeJS.ErrnoException) =>
      log.warn({ errorCode: err.code, error: err.message }, 'client connection error'),
    );
    const inFlight = createInFlight();
    app.use(inFlight.middleware);
    app.use(requestContext(log));
    app.use(requestScope());
    app.use(metrics.http());
    app.use(canonicalRequest(config.issuer, config.trustProxy));
    app.use(securityHeaders(config));
    app.use(errorRenderer(views, log));
    app.use(healthRoutes(store, () => isStopping));
    app.use(views.assets.middleware);
    // With a separate metrics listener the main port has no /metrics.
    if (config.metrics.port === 0) app.use(metrics.endpoint());
    app.use((ctx, next) => {
      if (Number(ctx.get('content-length') || 0) > config.bodyLimitBytes)
        throw new HttpError(413, 'invalid_request', 'request body too large');
      return next();
    });
    app.use(
      browserRateLimit(store.throttle, config.rateLimit, config.bodyLimitBytes, (kind) =>
        audit('rate_limit.exceeded', { kind }),
      ),
    );
    if (seed && !config.production) app.use(devCallback(config, views));
    app.use(interactionRoutes({ config, provider, accounts, views, guard, audit, mfa }));
    app.use(accountSecurityRoutes({ config, provider, views, guard, audit, mfa, cookieKeys }));
    const mailer = createMailer(config, log);
    app.use(
      accountRoutes({
        config,
        provider,
        store,
        accounts,
        policy,
        views,
        guard,
        audit,
        mailer,
        log,
        cookieKey: cookieKeys[0],
        notifyLogout: backchannel.notifyLogout,
      }),
    );
    // '/auth' is oidc-provider's authorization route (its default, not overridden in createProvider).
    app.use(authorizationPost('/auth', config.bodyLimitBytes));
    // Opens the back-channel request's storage scope; the client's record and a refresh token with its Grant,
    // account and session are read with the rate limiter's counters in one Redis round trip
    // (src/provider/oidc-internals.ts).
    app.use(registrationPolicy(store, config));
    app.use(tokenPrefetch(store, config.bodyLimitBytes));
    app.use(limits.host);
    app.use(devicePollingPace(store.throttle, config));
    app.use(providerMiddleware(provider));

    const handler = app.callback();
    const metricsApp = new Koa();
    metricsApp.silent = true;
    metricsApp.use(errorRenderer(views, log));
    metricsApp.use(metrics.endpoint());
    const metricsHandler = metricsApp.callback();
    return {
      config,
      provider,
      store,
      accounts,
      app,
      metrics,
      backchannel,
      clientExpiry,
      handler: (req, res) => void handler(req, res),
      metricsHandler: (req, res) => void metricsHandler(req, res),
      stopping: () => {
        isStopping = true;
      },
      close: async () => {
        // Requests whose connection is already closed may still be finishing (access log, a held-back consume).
        await inFlight.drained(DRAIN_TIMEOUT_MS);
        clientExpiry.stop();
        await backchannel.stop();
        await store.close();
        mailer.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
