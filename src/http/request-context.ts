/**
 * Request id and access log. The id comes from a well-formed `X-Request-Id` or is generated, and is returned
 * on the response. The access log never records query strings or bodies, nor the secret of an account link
 * (/account/reset/<token>: the path is the link).
 */
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { unredacted } from './logger.ts';

const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const LINK_PATH = /^(\/account\/(?:reset|verify)\/)[^/]+$/;

export function requestContext(log: Logger): Middleware {
  const access = unredacted(log);
  return async (ctx, next) => {
    const given = ctx.get('x-request-id');
    const id = VALID_ID.test(given) ? given : randomUUID();
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    const started = performance.now();
    try {
      await next();
    } finally {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      access.info(
        {
          reqId: id,
          method: ctx.method,
          path: ctx.path.replace(LINK_PATH, '$1[redacted]'),
          status: ctx.respond === false ? ctx.res.statusCode : ctx.status,
          ms,
        },
        'request',
      );
    }
  };
}
