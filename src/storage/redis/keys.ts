/**
 * The Redis key layout, designed for Redis Cluster: every set of keys that one script touches shares a hash tag
 * (the `{...}` part), so it lives in one slot and the script is atomic on a single node and on a cluster alike.
 * `P` below is `redis.keyPrefix` (default `gh:`; it may not contain braces, or the tags would move).
 *
 * Grant family (tag `{g:<grantId>}`) — everything a reuse detection or a logout must revoke in one step:
 *   P{g:G}:Grant                 hash {p: payload}                           TTL of the Grant
 *   P{g:G}:<Model>:<id>          hash {p: payload, c: consumed-at ms}        TTL of the token
 *   P{g:G}:RefreshToken:<L>      hash {p, n, r, c}: refresh-token lineage L  TTL of its current generation
 *                                (../refresh-lineage.ts; no pointer: the token names its grant and lineage)
 *   P{g:G}:members               zset "<Model>:<id>" → expiry ms (+inf)      TTL = latest member's expiry
 *
 * Records by id (tag `{<id>}`) — oidc-provider calls find/consume/destroy with the id only:
 *   P<Model>:{<id>}              hash {p, c}  for records outside any grant (Session, Interaction, ...)
 *                                string "@<grantId>" for a grant member: a pointer to its family slot, same TTL
 *                                as the record; deleted when the record is evicted or revoked. The id→grant
 *                                mapping never changes, so each instance caches it (GrantLocator) and a find or
 *                                consume that follows an upsert/find on the same instance skips the pointer.
 *   P<Model>:uid:{<uid>}         Session uid → session id          (same TTL as the session)
 *   P<Model>:userCode:{<code>}   DeviceCode user code → id         (same TTL as the device code)
 *
 * Durable records (no TTL: they never expire):
 *   P{clients}:c:<client_id>     hash {p: metadata}; P{clients}:index  set of client ids
 *   P{accounts}:a:<id>           account JSON;  P{accounts}:u:<lower username> → id;  P{accounts}:index  set of ids
 *
 * Login throttling: P throttle:{<key>} counter with the window TTL; P lock:{<key>} with the lock TTL.
 *
 * The refresh-token key: P{secrets}:refresh-token-key, 32 random bytes (base64url), created once by the first
 * instance (SET NX) and never expiring; deleting it invalidates every refresh token.
 */
export interface KeyLayout {
  grantBase(grantId: string): string;
  grant(grantId: string): string;
  members(grantId: string): string;
  lineage(grantId: string, lineage: string): string;
  familyRecord(grantId: string, model: string, id: string): string;
  home(model: string, id: string): string;
  uid(uid: string): string;
  userCode(code: string): string;
  client(clientId: string): string;
  clientIndex(): string;
  account(id: string): string;
  accountBase(): string;
  username(username: string): string;
  accountIndex(): string;
  throttle(key: string): string;
  lock(key: string): string;
  refreshTokenKey(): string;
}

export function keyLayout(prefix: string): KeyLayout {
  if (/[{}]/.test(prefix))
    throw new Error('redis.keyPrefix (REDIS_KEY_PREFIX) may not contain { or }: they would change the hash tags');
  const grantBase = (grantId: string) => `${prefix}{g:${grantId}}:`;
  return {
    grantBase,
    grant: (g) => `${grantBase(g)}Grant`,
    members: (g) => `${grantBase(g)}members`,
    lineage: (g, l) => `${grantBase(g)}RefreshToken:${l}`,
    familyRecord: (g, model, id) => `${grantBase(g)}${model}:${id}`,
    home: (model, id) => `${prefix}${model}:{${id}}`,
    uid: (uid) => `${prefix}Session:uid:{${uid}}`,
    userCode: (code) => `${prefix}DeviceCode:userCode:{${code}}`,
    client: (id) => `${prefix}{clients}:c:${id}`,
    clientIndex: () => `${prefix}{clients}:index`,
    account: (id) => `${prefix}{accounts}:a:${id}`,
    accountBase: () => `${prefix}{accounts}:a:`,
    username: (username) => `${prefix}{accounts}:u:${username.toLowerCase()}`,
    accountIndex: () => `${prefix}{accounts}:index`,
    throttle: (key) => `${prefix}throttle:{${key}}`,
    lock: (key) => `${prefix}lock:{${key}}`,
    refreshTokenKey: () => `${prefix}{secrets}:refresh-token-key`,
  };
}
