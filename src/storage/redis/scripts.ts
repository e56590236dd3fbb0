/**
 * The Lua scripts that make each storage decision atomic inside Redis (see keys.ts for the layout and
 * ../reuse-policy.ts for the rules). Each script touches only keys of one hash tag, declared in KEYS, except
 * the "gone" keys (pointers and user-code indexes of deleted records, which live in other slots): on a single
 * node or Sentinel (`inline`) the script deletes them itself; on a Cluster it returns them and the caller
 * UNLINKs them in the same breath. Time is Redis' own clock (TIME), so instances with skewed clocks agree on
 * whether a token is still in its grace period.
 *
 * Records are hashes {p: payload JSON as oidc-provider gave it, c: consumed-at ms}: a live payload is never
 * decoded and re-encoded by Lua (cjson would turn [] into {}); only a consumed refresh token past its grace
 * period is rewritten, to its compact form of scalar fields (k: 1 marks it).
 */
import type { Cluster, Redis } from 'ioredis';

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** ARGV[1] = key prefix, ARGV[2] = '1' to delete cross-slot keys inline. Revocation helpers. */
const REVOKE = `local PREFIX = ARGV[1]
local INLINE = ARGV[2] == '1'
local function gone(k, out)
  if INLINE then redis.call('DEL', k) else out[#out + 1] = k end
end
local function drop(base, m, out)
  local k = base .. m
  local i = string.find(m, ':', 1, true)
  if string.sub(m, 1, i) == 'DeviceCode:' then
    local p = redis.call('HGET', k, 'p')
    if p then
      local ok, d = pcall(cjson.decode, p)
      if ok and type(d) == 'table' and type(d.userCode) == 'string' then gone(PREFIX .. 'DeviceCode:userCode:{' .. d.userCode .. '}', out) end
    end
  end
  redis.call('DEL', k)
  gone(PREFIX .. string.sub(m, 1, i) .. '{' .. string.sub(m, i + 1) .. '}', out)
end
local function revokeFamily(membersKey, consumedKey, grantKey, base, out)
  for _, m in ipairs(redis.call('ZRANGE', membersKey, 0, -1)) do drop(base, m, out) end
  redis.call('DEL', membersKey, consumedKey, grantKey)
end`;

/**
 * Compact form of a consumed refresh token past its grace period: only what oidc-provider reads before it sees
 * `consumed` and revokes the family (client, expiry, grant, account, scope, sender constraints).
 *
 * The consumed list holds "<consumed-at ms>|<member>" per token, rewritten to "~<member>" once the token is
 * compacted (an entry of just "<member>" was written before the time was kept: its time and state are read from
 * the record). The walk goes from the newest entry back to the first compacted one and reads a record only to
 * compact it, so a family rotated faster than the grace period costs no reads at all.
 */
const COMPACT = `local KEEP = {'iat', 'exp', 'nbf', 'jti', 'kind', 'format', 'clientId', 'grantId', 'accountId', 'scope', 'jkt',
  'x5t#S256', 'sessionUid', 'expiresWithSession', 'iiat', 'rotations'}
local function consumedMember(entry)
  if string.sub(entry, 1, 1) == '~' then return string.sub(entry, 2) end
  local bar = string.find(entry, '|', 1, true)
  if bar then return string.sub(entry, bar + 1) end
  return entry
end
local function compactConsumed(listKey, base, now, grace)
  local entries = redis.call('LRANGE', listKey, 0, -1)
  for i = #entries, 1, -1 do
    local e = entries[i]
    if string.sub(e, 1, 1) == '~' then break end
    local m = consumedMember(e)
    local bar = string.find(e, '|', 1, true)
    local at
    if bar then
      at = tonumber(string.sub(e, 1, bar - 1))
    else
      local old = redis.call('HMGET', base .. m, 'c', 'k')
      if old[2] then break end
      at = old[1] and tonumber(old[1])
    end
    if at and now - at >= grace then
      local k = base .. m
      local p = redis.call('HGET', k, 'p')
      if p then
        local ok, d = pcall(cjson.decode, p)
        if ok and type(d) == 'table' then
          local small = {}
          for _, f in ipairs(KEEP) do
            local x = d[f]
            if type(x) == 'string' or type(x) == 'number' or type(x) == 'boolean' then small[f] = x end
          end
          redis.call('HSET', k, 'p', cjson.encode(small), 'k', '1')
        end
      end
      redis.call('LSET', listKey, i - 1, '~' .. m)
    end
  end
end`;

/** A record by key, as find answers it: false | {'p', payload[, consumed seconds]} (grace hides a fresh consume). */
const FIND_RECORD = `local function findRecord(key, grace)
  local v = redis.call('HMGET', key, 'p', 'c')
  if not v[1] then return false end
  if not v[2] then return {'p', v[1]} end
  ${NOW}
  local c = tonumber(v[2])
  if grace > 0 and now - c < grace then return {'p', v[1]} end
  return {'p', v[1], tostring(math.floor(c / 1000))}
end`;

/** KEYS[1] record. ARGV[1] grace ms. → false | {'@', grantId} | {'p', payload[, consumed seconds]} */
const FIND = `${FIND_RECORD}
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'string' then return {'@', redis.call('GET', KEYS[1])} end
if kind ~= 'hash' then return false end
return findRecord(KEYS[1], tonumber(ARGV[1]))`;

/**
 * Single node and Sentinel only (it reads keys of several slots): everything a refresh-token grant reads, in one
 * round trip — the token (through its pointer), its Grant, its account, the session it is bound to (when it
 * expires with the session) and the client's stored record.
 * KEYS[1] the token's pointer. ARGV[1] key prefix, ARGV[2] "RefreshToken:<id>", ARGV[3] grace ms, ARGV[4] account
 * key base, ARGV[5] the client's record key ('' for none).
 * → {grantId or '', payload or '', consumed seconds or '', Grant payload or '', account JSON or '', client payload
 *    or '', session id or '', session payload or ''} ('' grantId: no pointer, nothing about the token was read)
 */
const PREFETCH_REFRESH = `${FIND_RECORD}
local out = {'', '', '', '', '', '', '', ''}
if ARGV[5] ~= '' then
  local c = findRecord(ARGV[5], 0)
  if c then out[6] = c[2] end
end
if redis.call('TYPE', KEYS[1])['ok'] ~= 'string' then return out end
local ptr = redis.call('GET', KEYS[1])
if string.sub(ptr, 1, 1) ~= '@' then return out end
local g = string.sub(ptr, 2)
out[1] = g
local base = ARGV[1] .. '{g:' .. g .. '}:'
out[4] = redis.call('HGET', base .. 'Grant', 'p') or ''
local found = findRecord(base .. ARGV[2], tonumber(ARGV[3]))
if not found then return out end
out[2] = found[2]
out[3] = found[3] or ''
local ok, d = pcall(cjson.decode, found[2])
if not ok or type(d) ~= 'table' then return out end
if type(d.accountId) == 'string' then
  local ak = ARGV[4] .. d.accountId
  if redis.call('TYPE', ak)['ok'] == 'string' then out[5] = redis.call('GET', ak) end
end
if d.expiresWithSession == true and type(d.sessionUid) == 'string' then
  local uk = ARGV[1] .. 'Session:uid:{' .. d.sessionUid .. '}'
  if redis.call('TYPE', uk)['ok'] == 'string' then
    local sid = redis.call('GET', uk)
    out[7] = sid
    local sess = findRecord(ARGV[1] .. 'Session:{' .. sid .. '}', 0)
    if sess then out[8] = sess[2] end
  end
end
return out`;

/** Writes a record (replacing it) and, for a grant member, its entry in the family's member index. */
const UPSERT_RECORD = `local function upsertRecord(key, members, payload, ttlArg, member)
  redis.call('DEL', key)
  redis.call('HSET', key, 'p', payload)
  local ttl = tonumber(ttlArg)
  if ttl then redis.call('PEXPIRE', key, math.max(ttl, 1)) end
  if members then
    ${NOW}
    redis.call('ZADD', members, ttl and (now + ttl) or '+inf', member)
    redis.call('ZREMRANGEBYSCORE', members, '-inf', now)
    local last = redis.call('ZRANGE', members, -1, -1, 'WITHSCORES')
    if last[2] == nil or last[2] == 'inf' then redis.call('PERSIST', members)
    else redis.call('PEXPIREAT', members, math.floor(tonumber(last[2]))) end
  end
end`;

/** KEYS[1] record, KEYS[2] family members (optional). ARGV[1] payload, ARGV[2] ttl ms or '', ARGV[3] member. */
const UPSERT = `${UPSERT_RECORD}
upsertRecord(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
return 1`;

/**
 * The compare-and-set of a consume. rec: the record; members/consumedKey/grantKey: its family (nil outside one).
 * A: ARGV from index `a`: grace ms, '1' for a refresh token, detection ms, depth, member, family key base, the
 * record's own pointer key ('' if none).
 * → {'missing'} | {'grace'} | {'reuse', payload, gone...} | {'ok', gone...}
 */
const CONSUME_RECORD = `local function consumeRecord(rec, members, consumedKey, grantKey, a)
  local graceArg, isRefresh, detectionArg, depth, member, base, pointer = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
  local v = redis.call('HMGET', rec, 'p', 'c')
  if not v[1] then return {'missing'} end
  ${NOW}
  local out = {}
  if v[2] then
    local grace = tonumber(graceArg)
    if grace > 0 and now - tonumber(v[2]) < grace then return {'grace'} end
    out[1] = 'reuse'
    out[2] = v[1]
    if members then revokeFamily(members, consumedKey, grantKey, base, out) end
    redis.call('DEL', rec)
    if pointer ~= '' then gone(pointer, out) end
    return out
  end
  out[1] = 'ok'
  redis.call('HSET', rec, 'c', now)
  if isRefresh == '1' and members then
    local detection = tonumber(detectionArg)
    redis.call('RPUSH', consumedKey, string.format('%.0f', now) .. '|' .. member)
    while redis.call('LLEN', consumedKey) > tonumber(depth) do
      local evicted = consumedMember(redis.call('LPOP', consumedKey))
      redis.call('ZREM', members, evicted)
      drop(base, evicted, out)
    end
    compactConsumed(consumedKey, base, now, tonumber(graceArg))
    redis.call('PEXPIRE', consumedKey, math.max(detection, 1))
    local left = redis.call('PTTL', rec)
    if left < 0 or left > detection then
      redis.call('PEXPIRE', rec, math.max(detection, 1))
      redis.call('ZADD', members, 'XX', now + detection, member)
      if pointer ~= '' then
        if INLINE then redis.call('PEXPIRE', pointer, math.max(detection, 1)) else out[#out + 1] = '~' .. pointer end
      end
    end
  end
  return out
end`;

/**
 * KEYS[1] record; for a grant member also KEYS[2] members, KEYS[3] consumed list, KEYS[4] Grant.
 * ARGV[3..9] as consumeRecord. → as consumeRecord
 */
const CONSUME = `${REVOKE}
${COMPACT}
${CONSUME_RECORD}
return consumeRecord(KEYS[1], KEYS[2], KEYS[3], KEYS[4], 3)`;

/**
 * Rotation of a refresh token in one step: consume the old one and, unless that fails, store its successor in
 * the same family. KEYS[1..4] as CONSUME (old record, members, consumed list, Grant), KEYS[5] the new record.
 * ARGV[3..9] as consumeRecord; ARGV[10] new payload, ARGV[11] its ttl ms or '', ARGV[12] its member,
 * ARGV[13] its pointer key ('' when the caller writes the pointer: Cluster), ARGV[14] the pointer's value.
 * → as consumeRecord; the successor is written only after 'ok' or 'grace'.
 */
const ROTATE = `${REVOKE}
${COMPACT}
${CONSUME_RECORD}
${UPSERT_RECORD}
local out = consumeRecord(KEYS[1], KEYS[2], KEYS[3], KEYS[4], 3)
if out[1] == 'ok' or out[1] == 'grace' then
  upsertRecord(KEYS[5], KEYS[2], ARGV[10], ARGV[11], ARGV[12])
  if ARGV[13] ~= '' then
    local ttl = tonumber(ARGV[11])
    if ttl then redis.call('SET', ARGV[13], ARGV[14], 'PX', math.max(ttl, 1)) else redis.call('SET', ARGV[13], ARGV[14]) end
  end
end
return out`;

/** KEYS[1] record, KEYS[2] members (optional). ARGV[1] member. → payload | false */
const DESTROY = `local p = redis.call('HGET', KEYS[1], 'p')
redis.call('DEL', KEYS[1])
if KEYS[2] then redis.call('ZREM', KEYS[2], ARGV[1]) end
return p`;

/** KEYS[1] members, KEYS[2] consumed list, KEYS[3] Grant. ARGV[3] family key base. → gone keys */
const REVOKE_FAMILY = `${REVOKE}
local out = {}
revokeFamily(KEYS[1], KEYS[2], KEYS[3], ARGV[3], out)
return out`;

/** KEYS[1] members. ARGV[3] family key base, ARGV[4] "<Model>:". → gone keys */
const REVOKE_MODEL = `${REVOKE}
local out = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, #ARGV[4]) == ARGV[4] then
    drop(ARGV[3], m, out)
    redis.call('ZREM', KEYS[1], m)
  end
end
return out`;

/** KEYS[1] username index, KEYS[2] account, KEYS[3] account index. ARGV[1] account JSON, ARGV[2] id. → 1 | 0 taken */
const CREATE_ACCOUNT = `if redis.call('SET', KEYS[1], ARGV[2], 'NX') == false then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
return 1`;

/** KEYS[1] username index. ARGV[1] account key base. → account JSON | false */
const ACCOUNT_BY_USERNAME = `local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('GET', ARGV[1] .. id)`;

/** KEYS[1] account, KEYS[2] account index. ARGV[1] username index key base, ARGV[2] id. → 1 | 0 */
const REMOVE_ACCOUNT = `local a = redis.call('GET', KEYS[1])
if not a then return 0 end
local ok, d = pcall(cjson.decode, a)
if ok and type(d) == 'table' and type(d.username) == 'string' then
  local idx = ARGV[1] .. string.lower(d.username)
  if redis.call('GET', idx) == ARGV[2] then redis.call('DEL', idx) end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1`;

/** KEYS[1] counter. ARGV[1] window seconds. → count in the window */
const THROTTLE_HIT = `local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n`;

/** KEYS[1] counter. → nothing; one hit less, if the counter still exists (a gone window stays gone). */
const THROTTLE_RELEASE = `if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then redis.call('DECR', KEYS[1]) end
return 1`;

type Reply = Promise<unknown>;
type Args = Array<string | number>;

export interface Scripts {
  ghFind(numKeys: number, ...args: Args): Reply;
  ghUpsert(numKeys: number, ...args: Args): Reply;
  ghConsume(numKeys: number, ...args: Args): Reply;
  ghRotate(numKeys: number, ...args: Args): Reply;
  ghPrefetchRefresh(numKeys: number, ...args: Args): Reply;
  ghDestroy(numKeys: number, ...args: Args): Reply;
  ghRevokeFamily(numKeys: number, ...args: Args): Reply;
  ghRevokeModel(numKeys: number, ...args: Args): Reply;
  ghCreateAccount(numKeys: number, ...args: Args): Reply;
  ghAccountByUsername(numKeys: number, ...args: Args): Reply;
  ghRemoveAccount(numKeys: number, ...args: Args): Reply;
  ghThrottleHit(numKeys: number, ...args: Args): Reply;
  ghThrottleRelease(numKeys: number, ...args: Args): Reply;
}

export type ScriptedClient = (Redis | Cluster) & Scripts;

/** Registers the scripts on a client (EVALSHA, with EVAL on the first NOSCRIPT — also per cluster node). */
export function defineScripts(client: Redis | Cluster): ScriptedClient {
  const scripts: Record<keyof Scripts, string> = {
    ghFind: FIND,
    ghUpsert: UPSERT,
    ghConsume: CONSUME,
    ghRotate: ROTATE,
    ghPrefetchRefresh: PREFETCH_REFRESH,
    ghDestroy: DESTROY,
    ghRevokeFamily: REVOKE_FAMILY,
    ghRevokeModel: REVOKE_MODEL,
    ghCreateAccount: CREATE_ACCOUNT,
    ghAccountByUsername: ACCOUNT_BY_USERNAME,
    ghRemoveAccount: REMOVE_ACCOUNT,
    ghThrottleHit: THROTTLE_HIT,
    ghThrottleRelease: THROTTLE_RELEASE,
  };
  for (const [name, lua] of Object.entries(scripts)) client.defineCommand(name, { lua });
  return client as ScriptedClient;
}
