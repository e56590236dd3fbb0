/**
 * The Lua scripts that make each storage decision atomic inside Redis (see keys.ts for the layout and
 * ../reuse-policy.ts for the rules). Each script touches only keys of one hash tag, declared in KEYS, except
 * the "gone" keys (pointers and user-code indexes of deleted records, which live in other slots): on a single
 * node or Sentinel (`inline`) the script deletes them itself; on a Cluster it returns them and the caller
 * UNLINKs them in the same breath. Time is Redis' own clock (TIME), so instances with skewed clocks agree on
 * whether a token is still in its grace period.
 *
 * Records are hashes {p: payload JSON as oidc-provider gave it, c: consumed-at ms}; refresh-token lineages are
 * hashes {p, n, r, c, a, s} (LINEAGE). A payload is never decoded and re-encoded by Lua (cjson would turn [] into {}).
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
local function revokeFamily(membersKey, grantKey, base, out)
  for _, m in ipairs(redis.call('ZRANGE', membersKey, 0, -1)) do drop(base, m, out) end
  redis.call('DEL', membersKey, grantKey)
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

/** Sets a family member's expiry in the member index, and the index's own TTL to its latest member's. */
const TOUCH_MEMBER = `local function touchMember(members, member, ttl, now)
  redis.call('ZADD', members, ttl and (now + ttl) or '+inf', member)
  redis.call('ZREMRANGEBYSCORE', members, '-inf', now)
  local last = redis.call('ZRANGE', members, -1, -1, 'WITHSCORES')
  if last[2] == nil or last[2] == 'inf' then redis.call('PERSIST', members)
  else redis.call('PEXPIREAT', members, math.floor(tonumber(last[2]))) end
end`;

/** Writes a record (replacing it) and, for a grant member, its entry in the family's member index. */
const UPSERT_RECORD = `${TOUCH_MEMBER}
local function upsertRecord(key, members, payload, ttlArg, member)
  redis.call('DEL', key)
  redis.call('HSET', key, 'p', payload)
  local ttl = tonumber(ttlArg)
  if ttl then redis.call('PEXPIRE', key, math.max(ttl, 1)) end
  if members then
    ${NOW}
    touchMember(members, member, ttl, now)
  end
end`;

/** KEYS[1] record, KEYS[2] family members (optional). ARGV[1] payload, ARGV[2] ttl ms or '', ARGV[3] member. */
const UPSERT = `${UPSERT_RECORD}
upsertRecord(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
return 1`;

/**
 * The compare-and-set of a consume (authorization codes, device codes, and refresh tokens of the earlier
 * one-record-per-token format). rec: the record; members/grantKey: its family (nil outside one).
 * ARGV from index `a`: grace ms, family key base, the record's own pointer key ('' if none).
 * → {'missing'} | {'grace'} | {'reuse', payload, gone...} | {'ok'}
 */
const CONSUME_RECORD = `local function consumeRecord(rec, members, grantKey, a)
  local graceArg, base, pointer = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local v = redis.call('HMGET', rec, 'p', 'c')
  if not v[1] then return {'missing'} end
  ${NOW}
  if v[2] then
    local grace = tonumber(graceArg)
    if grace > 0 and now - tonumber(v[2]) < grace then return {'grace'} end
    local out = {'reuse', v[1]}
    if members then revokeFamily(members, grantKey, base, out) end
    redis.call('DEL', rec)
    if pointer ~= '' then gone(pointer, out) end
    return out
  end
  redis.call('HSET', rec, 'c', now)
  return {'ok'}
end`;

/** KEYS[1] record; for a grant member also KEYS[2] members, KEYS[3] Grant. ARGV[3..5] as consumeRecord. */
const CONSUME = `${REVOKE}
${CONSUME_RECORD}
return consumeRecord(KEYS[1], KEYS[2], KEYS[3], 3)`;

/**
 * Refresh-token lineages: the rules of ../refresh-lineage.ts on a hash {p: payload of the current generation,
 * n: current generation, r: ms it became current, c: ms it was consumed, a: its account id, s: the session uid it
 * expires with ('' for none)}, kept under the grant's tag and indexed in its member index as
 * "RefreshToken:<lineage>". The payload is read only where it is answered (find, reuse): a rotation moves no more
 * of it through Lua than the new one, and the prefetch finds account and session without decoding it.
 */
const LINEAGE = `local function lineageState(key, withPayload)
  local v = withPayload and redis.call('HMGET', key, 'n', 'r', 'c', 'p', 'a', 's') or redis.call('HMGET', key, 'n', 'r', 'c')
  if not v[1] then return nil end
  return {n = tonumber(v[1]), r = tonumber(v[2]), c = v[3] and tonumber(v[3]), p = v[4], a = v[5], s = v[6]}
end
local function standing(s, gen, now, grace)
  if gen > s.n then return 'unknown' end
  if gen == s.n then
    if not s.c or (grace > 0 and now - s.c < grace) then return 'live' end
    return 'used', s.c
  end
  if gen == s.n - 1 and grace > 0 and now - s.r < grace then return 'live' end
  return 'used', s.r
end
local function lineageFind(key, gen, grace, now)
  local s = lineageState(key, true)
  if not s then return false end
  local st, at = standing(s, gen, now, grace)
  if st == 'unknown' then return false end
  if st == 'live' then return {'p', s.p}, s end
  return {'p', s.p, tostring(math.floor(at / 1000))}, s
end
local function consumeOutcome(s, gen, now, grace)
  if not s or gen > s.n then return 'missing' end
  if gen == s.n and not s.c then return 'ok' end
  if standing(s, gen, now, grace) == 'live' then return 'grace' end
  return 'reuse'
end
local function lineageConsume(key, members, grantKey, gen, grace, base, now, mark)
  local s = lineageState(key, false)
  local o = consumeOutcome(s, gen, now, grace)
  if o == 'ok' and mark then redis.call('HSET', key, 'c', now) end
  if o ~= 'reuse' then return {o}, s end
  local out = {'reuse', redis.call('HGET', key, 'p')}
  revokeFamily(members, grantKey, base, out)
  redis.call('DEL', key)
  return out, nil
end
local function lineageSave(key, members, member, s, gen, payload, ttlArg, now, account, session)
  local o
  if not s then o = gen == 0 and 'create' or 'stale'
  elseif gen == s.n + 1 then o = 'advance'
  elseif gen == s.n then o = 'rewrite'
  else o = 'stale' end
  if o == 'stale' then return o end
  if o == 'rewrite' then redis.call('HSET', key, 'p', payload, 'a', account, 's', session)
  else
    if o == 'advance' and s.c then redis.call('HDEL', key, 'c') end
    redis.call('HSET', key, 'p', payload, 'n', gen, 'r', now, 'a', account, 's', session)
  end
  local ttl = tonumber(ttlArg)
  if ttl then redis.call('PEXPIRE', key, math.max(ttl, 1)) else redis.call('PERSIST', key) end
  touchMember(members, member, ttl, now)
  return o
end`;

/** KEYS[1] lineage. ARGV[1] generation, ARGV[2] grace ms. → false | {'p', payload[, used at seconds]} */
const LINEAGE_FIND = `${LINEAGE}
${NOW}
return lineageFind(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), now)`;

/**
 * KEYS[1] lineage, KEYS[2] members, KEYS[3] Grant. ARGV[1] key prefix, ARGV[2] inline, ARGV[3] generation,
 * ARGV[4] grace ms, ARGV[5] family key base. → {'missing'} | {'grace'} | {'ok'} | {'reuse', payload, gone...}
 */
const LINEAGE_CONSUME = `${REVOKE}
${LINEAGE}
${NOW}
local out = lineageConsume(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], now, true)
return out`;

/**
 * KEYS[1] lineage, KEYS[2] members. ARGV[1] generation, ARGV[2] payload, ARGV[3] ttl ms or '', ARGV[4] member,
 * ARGV[5] account id, ARGV[6] session uid ('' unless the token expires with the session).
 */
const LINEAGE_SAVE = `${TOUCH_MEMBER}
${LINEAGE}
${NOW}
return lineageSave(KEYS[1], KEYS[2], ARGV[4], lineageState(KEYS[1], false), tonumber(ARGV[1]), ARGV[2], ARGV[3], now, ARGV[5], ARGV[6])`;

/**
 * Rotation in one step: consume generation ARGV[3] and, unless that fails, save its successor ARGV[6].
 * KEYS and ARGV[1..5] as LINEAGE_CONSUME; ARGV[6] new generation, ARGV[7] payload, ARGV[8] ttl ms or '',
 * ARGV[9] member, ARGV[10] account id, ARGV[11] session uid (as LINEAGE_SAVE). → as LINEAGE_CONSUME.
 */
const LINEAGE_ROTATE = `${REVOKE}
${TOUCH_MEMBER}
${LINEAGE}
${NOW}
local out, s = lineageConsume(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], now, false)
if out[1] == 'ok' or out[1] == 'grace' then lineageSave(KEYS[1], KEYS[2], ARGV[9], s, tonumber(ARGV[6]), ARGV[7], ARGV[8], now, ARGV[10], ARGV[11]) end
return out`;

/** One hit on a fixed-window counter: its count in the window (the window starts with the first hit). */
const HIT = `local function hit(key, window)
  local n = redis.call('INCR', key)
  if n == 1 or redis.call('PTTL', key) < 0 then redis.call('EXPIRE', key, window) end
  return n
end`;

/**
 * Counter hits that travel with a prefetch (src/storage/prefetch-scope.ts `joinHit`): the (counter key, window
 * seconds) pairs in ARGV from index `first` on, each counted as THROTTLE_HIT counts it, their counts appended to
 * `out`.
 */
const HITS = `${HIT}
local function hits(out, first)
  for i = first, #ARGV, 2 do out[#out + 1] = hit(ARGV[i], ARGV[i + 1]) end
end`;

/** The session with uid `uid` through its uid index: its id and payload, '' for what is not there. */
const SESSION_BY_UID = `local function sessionByUid(prefix, uid)
  local sid = redis.call('GET', prefix .. 'Session:uid:{' .. uid .. '}')
  if not sid then return '', '' end
  return sid, redis.call('HGET', prefix .. 'Session:{' .. sid .. '}', 'p') or ''
end`;

/**
 * Single node and Sentinel only (it reads keys of several slots): everything a refresh-token grant reads, in one
 * round trip — the lineage (as LINEAGE_FIND answers it), its Grant, its account, the session it is bound to (when
 * it expires with the session) and the client's stored record.
 * KEYS[1] the lineage. ARGV[1] key prefix, ARGV[2] generation, ARGV[3] grace ms, ARGV[4] the Grant's key,
 * ARGV[5] account key base, ARGV[6] the client's record key ('' for none), ARGV[7…] counter hits (HITS).
 * → {payload or '', used at seconds or '', Grant payload or '', account JSON or '', client payload or '',
 *    session id or '', session payload or '', the counters' counts…}
 */
const PREFETCH_REFRESH = `${LINEAGE}
${SESSION_BY_UID}
${HITS}
${NOW}
local out = {'', '', '', '', '', '', ''}
hits(out, 7)
if ARGV[6] ~= '' then out[5] = redis.call('HGET', ARGV[6], 'p') or '' end
local found, state = lineageFind(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]), now)
if not found then return out end
out[1] = found[2]
out[2] = found[3] or ''
out[3] = redis.call('HGET', ARGV[4], 'p') or ''
if state.a and state.a ~= '' then out[4] = redis.call('GET', ARGV[5] .. state.a) or '' end
if state.s and state.s ~= '' then out[6], out[7] = sessionByUid(ARGV[1], state.s) end
return out`;

/**
 * Single node and Sentinel only (it reads keys of several slots): everything a request presenting an opaque token
 * reads, in one round trip — an access token (userinfo, introspection) or an authorization code (its exchange),
 * following its pointer to the grant's slot, its Grant, its account, its client's stored record, the session it is
 * bound to (when it expires with the session), and the stored record of the client making the request. The
 * token's payload is decoded to find them, never re-encoded. Key shapes as in keys.ts.
 * KEYS[1] the token's own key. ARGV[1] key prefix, ARGV[2] '<Model>:<id>', ARGV[3] account key base,
 * ARGV[4] the requesting client's record key ('' for none), ARGV[5] and ARGV[6] the keys of the same value as
 * another kind of token (introspection: a client-credentials token, a refresh token of the earlier format; ''
 * for none), ARGV[7…] counter hits (HITS).
 * → {payload or '', consumed seconds or '', Grant payload or '', account JSON or '', requesting client's payload
 *    or '', the token's client's payload or '', session id or '', session payload or '', 1 or 0 whether the key in
 *    ARGV[5] exists, the same for ARGV[6], the counters' counts…}
 */
const PREFETCH_TOKEN = `${FIND_RECORD}
${SESSION_BY_UID}
${HITS}
local P = ARGV[1]
local out = {'', '', '', '', '', '', '', '', 0, 0}
hits(out, 7)
if ARGV[5] ~= '' then out[9] = redis.call('EXISTS', ARGV[5]) end
if ARGV[6] ~= '' then out[10] = redis.call('EXISTS', ARGV[6]) end
if ARGV[4] ~= '' then out[5] = redis.call('HGET', ARGV[4], 'p') or '' end
local key = KEYS[1]
local kind = redis.call('TYPE', key)['ok']
if kind == 'string' then
  key = P .. '{g:' .. string.sub(redis.call('GET', key), 2) .. '}:' .. ARGV[2]
elseif kind ~= 'hash' then return out end
local found = findRecord(key, 0)
if not found then return out end
out[1] = found[2]
out[2] = found[3] or ''
local ok, d = pcall(cjson.decode, found[2])
if not ok or type(d) ~= 'table' then return out end
if type(d.grantId) == 'string' then out[3] = redis.call('HGET', P .. '{g:' .. d.grantId .. '}:Grant', 'p') or '' end
if type(d.accountId) == 'string' then out[4] = redis.call('GET', ARGV[3] .. d.accountId) or '' end
if type(d.clientId) == 'string' then out[6] = redis.call('HGET', P .. '{clients}:c:' .. d.clientId, 'p') or '' end
if d.expiresWithSession == true and type(d.sessionUid) == 'string' then out[7], out[8] = sessionByUid(P, d.sessionUid) end
return out`;

/**
 * Single node and Sentinel only: the stored record of the client making a request, with the request's counter
 * hits, in one round trip. ARGV[1] the client's record key ('' for none), ARGV[2…] counter hits (HITS).
 * → {client payload or '', the counters' counts…}
 */
const PREFETCH_CLIENT = `${HITS}
local out = {''}
hits(out, 2)
if ARGV[1] ~= '' then out[1] = redis.call('HGET', ARGV[1], 'p') or '' end
return out`;

/** KEYS[1] record, KEYS[2] members (optional). ARGV[1] member. → payload | false */
const DESTROY = `local p = redis.call('HGET', KEYS[1], 'p')
redis.call('DEL', KEYS[1])
if KEYS[2] then redis.call('ZREM', KEYS[2], ARGV[1]) end
return p`;

/** KEYS[1] members, KEYS[2] Grant. ARGV[3] family key base. → gone keys */
const REVOKE_FAMILY = `${REVOKE}
local out = {}
revokeFamily(KEYS[1], KEYS[2], ARGV[3], out)
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
const THROTTLE_HIT = `${HIT}
return hit(KEYS[1], ARGV[1])`;

/** KEYS[1] counter. → nothing; one hit less, if the counter still exists (a gone window stays gone). */
const THROTTLE_RELEASE = `if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then redis.call('DECR', KEYS[1]) end
return 1`;

type Reply = Promise<unknown>;
type Args = Array<string | number>;

interface Scripts {
  ghFind(numKeys: number, ...args: Args): Reply;
  ghUpsert(numKeys: number, ...args: Args): Reply;
  ghConsume(numKeys: number, ...args: Args): Reply;
  ghLineageFind(numKeys: number, ...args: Args): Reply;
  ghLineageConsume(numKeys: number, ...args: Args): Reply;
  ghLineageSave(numKeys: number, ...args: Args): Reply;
  ghLineageRotate(numKeys: number, ...args: Args): Reply;
  ghPrefetchRefresh(numKeys: number, ...args: Args): Reply;
  ghPrefetchToken(numKeys: number, ...args: Args): Reply;
  ghPrefetchClient(numKeys: number, ...args: Args): Reply;
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

/**
 * Scripts a request sends alone in their tick, the prefetches (which carry the request's counter hits themselves)
 * and the held-back rotation: they skip ioredis' auto-pipelining, whose per-tick pipeline object would batch nothing.
 */
export const SENT_ALONE: readonly (keyof Scripts)[] = [
  'ghPrefetchRefresh',
  'ghPrefetchToken',
  'ghPrefetchClient',
  'ghLineageRotate',
];

/** Registers the scripts on a client (EVALSHA, with EVAL on the first NOSCRIPT — also per cluster node). */
export function defineScripts(client: Redis | Cluster): ScriptedClient {
  const scripts: Record<keyof Scripts, string> = {
    ghFind: FIND,
    ghUpsert: UPSERT,
    ghConsume: CONSUME,
    ghLineageFind: LINEAGE_FIND,
    ghLineageConsume: LINEAGE_CONSUME,
    ghLineageSave: LINEAGE_SAVE,
    ghLineageRotate: LINEAGE_ROTATE,
    ghPrefetchRefresh: PREFETCH_REFRESH,
    ghPrefetchToken: PREFETCH_TOKEN,
    ghPrefetchClient: PREFETCH_CLIENT,
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
