/**
 * Small corrections to what oidc-provider answers, for libraries that read the answers strictly.
 *
 * Rules:
 * - A successful revocation is 200 with an empty body (RFC 7009 2.2) and no Content-Type: there is no content to
 *   type, and browser libraries (oidc-client-ts) refuse a `text/plain` answer from an endpoint they expect JSON from.
 * - Discovery names the client authentication methods of the introspection and revocation endpoints (RFC 8414 2).
 *   oidc-provider authenticates clients the same way at all three back-channel endpoints, so they are the token
 *   endpoint's methods.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';

export function interopAnswers() {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> => {
    await next();
    const route = ctx.oidc?.route;
    if (route === 'revocation' && ctx.status === 200 && ctx.body === '') {
      ctx.remove('Content-Type');
      return;
    }
    if (route === 'discovery' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      const body = ctx.body as Record<string, unknown>;
      const methods = body.token_endpoint_auth_methods_supported;
      if (body.introspection_endpoint) body.introspection_endpoint_auth_methods_supported ??= methods;
      if (body.revocation_endpoint) body.revocation_endpoint_auth_methods_supported ??= methods;
    }
  };
}
