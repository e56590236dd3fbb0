/**
 * Everything Gatehouse relies on inside oidc-provider beyond its documented configuration, in one place, so an
 * upgrade of the library is a checked decision: tests/provider/internals.test.ts pins the version and the library
 * source each point below depends on, and fails when either changes. The HTTP tests named there prove each
 * behaviour end to end.
 *
 * 1. Refresh-token ids (`mintRefreshTokenIds`). Values are minted by the store's codec
 *    (src/storage/refresh-lineage.ts) so that a token names its lineage and generation: a code exchange starts a
 *    lineage at generation 0, a rotation continues the rotated token's lineage at the next generation, so
 *    presenting the previous generation within the reuse interval mints the token that is already current (one
 *    lineage, no fork). Relies on: a token's value is its `jti`, set by `generateTokenId()` on the model's prototype
 *    when it is first saved; the refresh_token grant consumes the presented token, records it as the
 *    `RotatedRefreshToken` entity of the request (`Provider.ctx.oidc.entities`), then saves its successor with the
 *    same `grantId`.
 * 2. The interaction result (`finishInteraction`). The interaction the request already loaded and checked
 *    (cookie, record, session principal) takes the result directly, as `provider.interactionResult` does after
 *    loading all of it a second time. Relies on: `interactionResult` sets `result` (merged with `lastSubmission`
 *    unless the result is an error), saves the interaction for its remaining lifetime and redirects to `returnTo`.
 * 3. The early first-party Grant (src/interactions/first-party-consent.ts). A `consent.grantId` handed in with the
 *    login result becomes the request's grant. Relies on: the default `loadExistingGrant` reads
 *    `ctx.oidc.result.consent.grantId` first (Gatehouse does not override it).
 * 4. The token prefetch and the deferred consume (`tokenPrefetch`; src/storage/prefetch-scope.ts and
 *    src/storage/redis/adapter.ts). Relies on: the refresh_token grant looks up `RefreshToken.find`, then the Grant
 *    (`validateGrant`) and the account (`validateAccount`), all of which the prefetch has read; and between its
 *    `consume()` of the presented token and the `save()` of the successor it makes no other storage call, so the
 *    held-back consume travels with the save in one script. Userinfo and introspection look up the opaque access
 *    token (`AccessToken.find`), a code exchange the code (`AuthorizationCode.find`), then its client, account,
 *    Grant and session, which the prefetch has read too (introspection also looks the value up as a
 *    `ClientCredentials` and a `RefreshToken`, whose absence the prefetch reads); were the order or the look-ups
 *    to change, a prefetched value would go unused (a slower request, never a different answer).
 * 5. The provider's middleware on the host app's context (`providerMiddleware`). A `Provider` is a Koa application;
 *    its request handling is Koa's own `callback()`: its `middleware` (every `provider.use` middleware, in order,
 *    then its router, which `Provider#use` keeps last) composed by the app's `compose`. Running that composition on
 *    the host app's context is what `provider.callback()` does, without a second context, error handling and
 *    `respond`. Relies on: `Provider` overrides none of `callback`, `handleRequest`, `createContext` or `onerror`;
 *    nothing in the library reads the context's application (`ctx.app`): it reaches the provider through
 *    `ctx.oidc.provider` and emits its events on the provider. What Koa itself reads from the application — `proxy`,
 *    the cookie `keys`, the `error` event — the host app provides as the provider did (src/gatehouse.ts).
 */
import type { Context, Middleware } from 'koa';
import Provider, { type InteractionResults } from 'oidc-provider';
import { withStorageScope } from '../storage/prefetch-scope.ts';
import { RefreshTokenCodec } from '../storage/refresh-lineage.ts';
import type { Store } from '../storage/types.ts';
import { LIMITED_PATHS, namedClient, singleParam, tokenForm } from '../web/token-form.ts';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

interface Minted {
  grantId?: string;
}

export function mintRefreshTokenIds(provider: Provider, store: Store): void {
  const codec = store.refreshTokens;
  const RefreshToken = provider.RefreshToken as unknown as { prototype: { generateTokenId(this: Minted): string } };
  RefreshToken.prototype.generateTokenId = function generateTokenId(this: Minted): string {
    const grantId = this.grantId;
    if (typeof grantId !== 'string') throw new TypeError('a refresh token is always issued for a grant');
    const rotated = (
      Provider.ctx?.oidc.entities as { RotatedRefreshToken?: { jti?: string; grantId?: string } } | undefined
    )?.RotatedRefreshToken;
    if (rotated?.grantId === grantId && typeof rotated.jti === 'string') {
      const previous = codec.parse(rotated.jti);
      if (previous) return codec.mint({ ...previous, gen: previous.gen + 1 });
      // A token of the earlier one-record-per-token format continues in a lineage derived from its id.
      return codec.mint({ grantId, lineage: codec.legacyLineage(rotated.jti), gen: 0 });
    }
    return codec.mint({ grantId, lineage: RefreshTokenCodec.newLineage(), gen: 0 });
  };
}

/**
 * Stores `result` on the interaction `d` this request loaded through `provider.interactionDetails` and redirects
 * the browser (303) back to the authorization endpoint. With `merge`, a non-error result is merged into the
 * previous submission, as `interactionResult` does.
 */
export async function finishInteraction(
  ctx: { status: number; redirect(url: string): void },
  d: Details,
  result: InteractionResults,
  merge: boolean,
): Promise<void> {
  d.result = merge && !('error' in result) ? { ...d.lastSubmission, ...result } : result;
  await d.save(d.exp - Math.floor(Date.now() / 1000));
  ctx.status = 303;
  ctx.redirect(d.returnTo);
}

/**
 * Opens the storage scope of a back-channel request (token, introspection, revocation, userinfo) and asks the store
 * to start reading what oidc-provider will look up: the named client's stored record; for a refresh-token grant,
 * the refresh token with its Grant, account and session; for a code exchange the code, and for introspection and
 * userinfo the opaque access token presented, each with its Grant, account, client and session. For the limited
 * POSTs it runs in the same tick as the rate limiter's counters, so all of it travels in one Redis script (the
 * counters join it: src/storage/redis/adapter.ts `withHits`), and the provider then finds it already read.
 *
 * Rules:
 * - Only the limited back-channel POSTs and userinfo (`/me`) with a bearer or DPoP header open a scope; nothing is
 *   read for anything else.
 * - The prefetch is only a read: the provider still validates everything (client authentication, expiry, grant,
 *   account, session, consumed state, sender constraint) exactly as without it; a token that is not exactly one
 *   parameter (`refresh_token`, `code`, `token`) or one bearer credential is not prefetched.
 * - Must run before the rate limiter, which counts in the same tick.
 */
export function tokenPrefetch(store: Store, bodyLimit: number): Middleware {
  return (ctx, next) => {
    if (ctx.path === USERINFO && (ctx.method === 'GET' || ctx.method === 'POST')) {
      const accessToken = presentedToken(ctx.get('authorization'));
      if (accessToken === undefined) return next();
      return withStorageScope(async () => {
        store.prefetch({ accessToken });
        await next();
      });
    }
    if (ctx.method !== 'POST' || !LIMITED_PATHS.has(ctx.path)) return next();
    return withStorageScope(async () => {
      const form = await tokenForm(ctx, bodyLimit);
      const clientId = await namedClient(ctx, bodyLimit);
      const grantType = ctx.path === '/token' ? singleParam(form, 'grant_type') : undefined;
      store.prefetch({
        clientId,
        refreshToken: grantType === 'refresh_token' ? singleParam(form, 'refresh_token') : undefined,
        code: grantType === 'authorization_code' ? singleParam(form, 'code') : undefined,
        accessToken: ctx.path === '/token/introspection' ? singleParam(form, 'token') : undefined,
        anyKind: ctx.path === '/token/introspection',
      });
      await next();
    });
  };
}

/** oidc-provider's default userinfo route (not overridden in createProvider). */
const USERINFO = '/me';

/** The token of an `Authorization: Bearer <token>` or `DPoP <token>` header (RFC 6750 2.1, RFC 9449 7.1). */
function presentedToken(authorization: string): string | undefined {
  const m = /^(?:Bearer|DPoP) ([A-Za-z0-9_~+/.-]+=*)$/i.exec(authorization);
  return m?.[1];
}

/** Koa's composition of a middleware list, as `callback()` uses it (the application's `compose`). */
type Compose = (middleware: Provider['middleware']) => (ctx: Context) => Promise<void>;

/**
 * The provider's middleware stack, run on the host app's context as the last middleware of the host app.
 *
 * Rules:
 * - Every `provider.use` middleware takes part, whenever it was added: the stack is composed again when it grew.
 * - An error that escapes the stack (one thrown by a `provider.use` middleware around the provider's own error
 *   handling, e.g. a storage outage while a session is recorded) goes on to the host app's error renderer, like an
 *   error of any host route: 503 with Retry-After for storage, 500 without details otherwise, every header kept.
 */
export function providerMiddleware(provider: Provider): Middleware {
  const stack = provider.middleware;
  const compose = (provider as unknown as { compose: Compose }).compose;
  let composed: ((ctx: Context) => Promise<void>) | undefined;
  let composedLength = 0;
  return async (ctx) => {
    if (composed === undefined || stack.length !== composedLength) {
      composed = compose(stack);
      composedLength = stack.length;
    }
    await composed(ctx);
  };
}
