/**
 * The account center's records on Redis (../account-records.ts):
 *   P{as:<accountId>}:sessions   hash session uid → activity JSON   TTL = session lifetime, renewed on touch
 *   P ott:{<sha256 hex>}         single-use token record JSON       TTL of the token (GETDEL consumes it)
 * Each operation touches one key, so it is atomic on a single node and on a Cluster alike.
 */
import type { OneTimeRecord, OneTimeTokenStore, SessionActivity, SessionIndexStore } from '../account-records.ts';
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
