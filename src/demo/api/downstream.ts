/**
 * The demo API's token-exchange route: how a service calls another service on the user's behalf (RFC 8693).
 *
 *   GET /api/downstream  scope api:read; exchanges the caller's access token at Gatehouse for one whose audience
 *                        is the downstream service, calls the downstream service's /api/profile with it, and
 *                        answers what the downstream service answered.
 *
 * The API authenticates as its own confidential client, which Gatehouse must know as the resource server of this
 * API (`resource_server_for`) with a `token_exchange` policy naming the downstream audience (docs/protocols.md).
 * Nothing else of the demo API depends on this file: the route exists only when it is configured.
 */
import type { Middleware } from 'koa';
import { AuthorizationServerUnavailable } from '../../resource-server/bearer-error.ts';
import { extractBearerToken } from '../../resource-server/extract-token.ts';
import { fetchJson } from '../../resource-server/fetch-json.ts';
import { discoveryUrl } from '../../resource-server/issuer-metadata.ts';

interface DownstreamOptions {
  readonly issuer: string;
  /** This API's client at Gatehouse. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** The downstream service: its resource identifier and its base URL. */
  readonly audience: string;
  readonly url: string;
  readonly timeoutMs?: number;
}

export function downstreamRoute(options: DownstreamOptions): Middleware {
  const timeoutMs = options.timeoutMs ?? 5000;
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`).toString('base64')}`;
  let tokenEndpoint: string | undefined;

  return async (ctx) => {
    const subjectToken = await extractBearerToken(ctx);
    tokenEndpoint ??= String((await fetchJson(discoveryUrl(options.issuer), { timeoutMs })).token_endpoint);
    const exchanged = await fetchJson(tokenEndpoint, {
      timeoutMs,
      init: {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: subjectToken,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          audience: options.audience,
          scope: 'api:read',
        }),
      },
    });
    const res = await fetch(`${options.url}/api/profile`, {
      headers: { authorization: `Bearer ${String(exchanged.access_token)}` },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    }).catch(() => {
      throw new AuthorizationServerUnavailable('the downstream service is unreachable');
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.status = res.status === 200 ? 200 : 502;
    ctx.body = { via: 'token exchange', downstream_status: res.status, downstream: await res.json().catch(() => null) };
  };
}
