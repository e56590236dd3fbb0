/**
 * The peer's storage: a straightforward oidc-provider Redis adapter, written the way the library's example
 * adapter is (example/adapters/redis.js): what a team that picks plain oidc-provider would write first. It is
 * the anchor Gatehouse's own store is measured against, so it must stay plain — no Lua scripts, no pipelining
 * beyond the MULTI/EXEC the example uses, no caching.
 *
 * Layout (one Redis, no prefix; the peer has its redis-server to itself):
 *   <Model>:<id>        string (JSON payload), or for consumable models a hash {payload, consumed}; TTL of the record
 *   grant:<grantId>     set of the record keys of one grant (every grantable model); TTL of its longest member
 *   uid:<uid>           Session uid → session id
 *   userCode:<code>     DeviceCode user code → id
 *
 * Like the example it keeps consumed refresh tokens and codes until they expire (the library detects reuse by
 * finding them consumed), so one login's storage grows with every rotation.
 */
import type { Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';

const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);
const CONSUMABLE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

const grantKey = (grantId: string) => `grant:${grantId}`;
const uidKey = (uid: string) => `uid:${uid}`;
const userCodeKey = (code: string) => `userCode:${code}`;

export class PeerRedisAdapter implements Adapter {
  readonly name: string;
  readonly redis: Redis;

  constructor(name: string, redis: Redis) {
    this.name = name;
    this.redis = redis;
  }

  key(id: string): string {
    return `${this.name}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const key = this.key(id);
    const multi = this.redis.multi();
    if (CONSUMABLE.has(this.name)) multi.hset(key, 'payload', JSON.stringify(payload));
    else multi.set(key, JSON.stringify(payload));
    if (expiresIn) multi.expire(key, expiresIn);
    if (GRANTABLE.has(this.name) && payload.grantId) {
      const index = grantKey(payload.grantId);
      multi.sadd(index, key);
      // The index lives as long as its longest-lived member.
      const ttl = await this.redis.ttl(index);
      if (expiresIn > ttl) multi.expire(index, expiresIn);
    }
    if (payload.userCode) {
      multi.set(userCodeKey(payload.userCode), id);
      if (expiresIn) multi.expire(userCodeKey(payload.userCode), expiresIn);
    }
    if (payload.uid) {
      multi.set(uidKey(payload.uid), id);
      if (expiresIn) multi.expire(uidKey(payload.uid), expiresIn);
    }
    await multi.exec();
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (CONSUMABLE.has(this.name)) {
      const data = await this.redis.hgetall(this.key(id));
      if (!data.payload) return undefined;
      const record = JSON.parse(data.payload) as AdapterPayload;
      return data.consumed ? { ...record, consumed: Number(data.consumed) } : record;
    }
    const data = await this.redis.get(this.key(id));
    return data ? (JSON.parse(data) as AdapterPayload) : undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = await this.redis.get(uidKey(uid));
    return id ? this.find(id) : undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = await this.redis.get(userCodeKey(userCode));
    return id ? this.find(id) : undefined;
  }

  async consume(id: string): Promise<void> {
    await this.redis.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const index = grantKey(grantId);
    const members = await this.redis.smembers(index);
    const multi = this.redis.multi();
    for (const key of members) multi.del(key);
    multi.del(index);
    await multi.exec();
  }
}

/** The adapter factory oidc-provider's `adapter` option takes, on one shared connection. */
export function peerAdapter(redis: Redis): (name: string) => PeerRedisAdapter {
  return (name) => new PeerRedisAdapter(name, redis);
}
