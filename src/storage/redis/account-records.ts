/**
 * The account center's records on Redis (../account-records.ts):
 *   P{as:<accountId>}:sessions   hash session uid → activity JSON   TTL = session lifetime, renewed on touch
 *   P ott:{<sha256 hex>}         single-use token record JSON       TTL of the token (GETDEL consumes it)
 *   P{ag:<accountId>}:grants     zset grant id → expiry ms           TTL = the latest entry's expiry
 *   P{email:<folded email>}      account id                          no TTL (durable, like accounts)
 * Each operation touches one key, so it is atomic on a single node and on a Cluster alike.
 */
import {
  type EmailIndexStore,
  foldEmail,
  type GrantIndexStore,
  type OneTimeRecord,
  type OneTimeTokenStore,
  type SessionActivity,
  type SessionIndexStore,
} from '../account-records.ts';
import { guarded } from './errors.ts';
import type { ScriptedClient } from './scripts.ts';

export function redisSessionIndex(client: ScriptedClient, prefix: string): SessionIndexStore {
  const k = (accountId: string) => `${prefix}{as:${accountId}}:sessions`;
  return {
    touch: (accountId, uid, activity, ttlSeconds) =>
      guarded(async () => {
        await client.multi().hset(k(accountId), uid, JSON.stringify(activity)).expire(k(accountId), ttlSeconds).exec();
      }),
    list: (accountId) =>
      guarded(async () => {
        const raw = await client.hgetall(k(accountId));
        return Object.fromEntries(Object.entries(raw).map(([uid, json]) => [uid, JSON.parse(json) as SessionActivity]));
      }),
    remove: (accountId, uids) =>
      guarded(async () => {
        if (uids.length > 0) await client.hdel(k(accountId), ...uids);
      }),
  };
}

export function redisOneTimeTokens(client: ScriptedClient, prefix: string): OneTimeTokenStore {
  const k = (hash: string) => `${prefix}ott:{${hash}}`;
  return {
    put: (hash, record, ttlSeconds) =>
      guarded(async () => {
        await client.set(k(hash), JSON.stringify(record), 'EX', ttlSeconds);
      }),
    consume: (hash) =>
      guarded(async () => {
        const raw = await client.getdel(k(hash));
        return raw === null ? undefined : (JSON.parse(raw) as OneTimeRecord);
      }),
  };
}

/** Expired entries are trimmed on every write and skipped on read. */
export function redisGrantIndex(client: ScriptedClient, prefix: string): GrantIndexStore {
  const k = (accountId: string) => `${prefix}{ag:${accountId}}:grants`;
  return {
    add: (accountId, grantId, expiresAt) =>
      guarded(async () => {
        const key = k(accountId);
        // NX sets the expiry of a new key; GT only ever moves it later.
        await client
          .multi()
          .zadd(key, expiresAt, grantId)
          .zremrangebyscore(key, '-inf', Date.now())
          .pexpireat(key, expiresAt, 'NX')
          .pexpireat(key, expiresAt, 'GT')
          .exec();
      }),
    list: (accountId) =>
      guarded(async () => {
        const flat = await client.zrangebyscore(k(accountId), `(${Date.now()}`, '+inf', 'WITHSCORES');
        const out: Record<string, number> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = Number(flat[i + 1]);
        return out;
      }),
    remove: (accountId, grantIds) =>
      guarded(async () => {
        if (grantIds.length > 0) await client.zrem(k(accountId), ...grantIds);
      }),
  };
}

/** Deletes KEYS[1] only while it holds ARGV[1]: one key, atomic on a Cluster too. */
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

export function redisEmailIndex(client: ScriptedClient, prefix: string): EmailIndexStore {
  const k = (email: string) => `${prefix}{email:${foldEmail(email)}}`;
  return {
    claim: (email, accountId) =>
      guarded(async () => {
        // SET NX GET: sets when absent and answers what was there before, in one step.
        const before = await client.set(k(email), accountId, 'NX', 'GET');
        return before === null || before === accountId;
      }),
    find: (email) => guarded(async () => (await client.get(k(email))) ?? undefined),
    release: (email, accountId) =>
      guarded(async () => {
        await client.eval(RELEASE, 1, k(email), accountId);
      }),
  };
}
