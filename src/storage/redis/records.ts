/**
 * The durable records on Redis (accounts with their username index, client metadata) and the login throttle
 * counters. Accounts and clients never expire, so they are the only keys without a TTL. Each group shares one
 * hash tag ({accounts}, {clients}) so that creating an account and claiming its username is one atomic script
 * on a Cluster too; these are low-volume records, so one slot per group is no hot spot.
 */
import type { ClientMetadata } from 'oidc-provider';
import { type Account, type AccountStore, type ClientStore, StorageConflict, type ThrottleStore } from '../types.ts';
import { storageScope } from '../prefetch-scope.ts';
import { prefetched } from './adapter.ts';
import { guarded } from './errors.ts';
import type { KeyLayout } from './keys.ts';
import type { ScriptedClient } from './scripts.ts';

export function redisAccounts(client: ScriptedClient, keys: KeyLayout): AccountStore {
  const parse = (raw: unknown) => (typeof raw === 'string' ? (JSON.parse(raw) as Account) : undefined);
  return {
    findById: (id) =>
      guarded(async () => {
        // Read with the refresh token at the start of this request (adapter.ts prefetch), if it was.
        const pre = await prefetched<Account | undefined>(`account:${id}`, true);
        return pre ? pre.value : parse(await client.get(keys.account(id)));
      }),
    findByUsername: (username) =>
      guarded(async () => parse(await client.ghAccountByUsername(1, keys.username(username), keys.accountBase()))),
    create: (account) =>
      guarded(async () => {
        const ok = await client.ghCreateAccount(
          3,
          keys.username(account.username),
          keys.account(account.id),
          keys.accountIndex(),
          JSON.stringify(account),
          account.id,
        );
        if (ok !== 1) throw new StorageConflict(`username ${account.username} is taken`);
      }),
    update: (account) =>
      guarded(async () => {
        storageScope()?.forget(`account:${account.id}`);
        await client.set(keys.account(account.id), JSON.stringify(account));
      }),
    remove: (id) =>
      guarded(async () => {
        storageScope()?.forget(`account:${id}`);
        return (await client.ghRemoveAccount(2, keys.account(id), keys.accountIndex(), keys.username(''), id)) === 1;
      }),
    list: () =>
      guarded(async () => {
        const ids = await client.smembers(keys.accountIndex());
        if (ids.length === 0) return [];
        const raw = await client.mget(ids.map((id) => keys.account(id)));
        return raw
          .map(parse)
          .filter((a): a is Account => a !== undefined)
          .sort((a, b) => a.username.localeCompare(b.username));
      }),
  };
}

export function redisClients(client: ScriptedClient, keys: KeyLayout): ClientStore {
  return {
    // Written exactly as the Client adapter model stores it (a record hash), because oidc-provider reads it there.
    save: (metadata: ClientMetadata) =>
      guarded(async () => {
        await Promise.all([
          client.ghUpsert(1, keys.client(metadata.client_id), JSON.stringify(metadata), '', ''),
          client.sadd(keys.clientIndex(), metadata.client_id),
        ]);
      }),
    remove: (clientId) =>
      guarded(async () => {
        const [removed] = await Promise.all([
          client.del(keys.client(clientId)),
          client.srem(keys.clientIndex(), clientId),
        ]);
        return removed === 1;
      }),
    list: () =>
      guarded(async () => {
        const ids = (await client.smembers(keys.clientIndex())).sort();
        const raw = await Promise.all(ids.map((id) => client.hget(keys.client(id), 'p')));
        return raw.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as ClientMetadata);
      }),
  };
}

export function redisThrottle(client: ScriptedClient, keys: KeyLayout): ThrottleStore {
  return {
    hit: (key, windowSeconds) =>
      guarded(async () => {
        const counter = keys.throttle(key);
        // A hit made while the request's prefetch is still to be sent travels in its script (adapter.ts withHits).
        const joined = storageScope()?.joinHit(counter, windowSeconds);
        return Number(await (joined ?? client.ghThrottleHit(1, counter, windowSeconds)));
      }),
    count: (key) => guarded(async () => Number((await client.get(keys.throttle(key))) ?? 0)),
    release: (key) =>
      guarded(async () => {
        await client.ghThrottleRelease(1, keys.throttle(key));
      }),
    reset: (key) =>
      guarded(async () => {
        await client.del(keys.throttle(key));
      }),
    lock: (key, seconds) =>
      guarded(async () => {
        await client.set(keys.lock(key), '1', 'EX', Math.max(1, Math.ceil(seconds)));
      }),
    ttl: (key) =>
      guarded(async () => {
        const ms = await client.pttl(keys.lock(key));
        return ms > 0 ? Math.ceil(ms / 1000) : 0;
      }),
  };
}
