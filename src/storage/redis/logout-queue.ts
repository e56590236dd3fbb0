/**
 * The back-channel logout queue on Redis (../logout-queue.ts), Cluster-safe: both keys share the tag `{logout}`.
 *   P{logout}:due   zset job id → due time (unix ms)
 *   P{logout}:jobs  hash job id → job JSON
 * Both expire with the latest deadline of any job pushed (PEXPIRE only ever extends it), so an idle queue leaves
 * nothing behind. Each operation is one script, atomic on every topology.
 */
import type { LogoutJob, LogoutQueue } from '../logout-queue.ts';
import { guarded } from './errors.ts';
import type { ScriptedClient } from './scripts.ts';

/** KEYS due, jobs. ARGV id, job JSON, due ms, ttl ms. */
const PUSH = `redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local ttl = tonumber(ARGV[4])
for _, k in ipairs(KEYS) do
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
return 1`;

/** KEYS due, jobs. ARGV now ms, max, lease ms. → job JSONs (each now hidden until now + lease). */
const CLAIM = `local now = tonumber(ARGV[1])
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))) do
  local job = redis.call('HGET', KEYS[2], id)
  if job then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
    out[#out + 1] = job
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out`;

/** KEYS due, jobs. ARGV id. */
const REMOVE = `redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`;

export function redisLogoutQueue(client: ScriptedClient, prefix: string): LogoutQueue {
  const due = `${prefix}{logout}:due`;
  const jobs = `${prefix}{logout}:jobs`;
  return {
    push: (job, dueAt) =>
      guarded(async () => {
        await client.eval(
          PUSH,
          2,
          due,
          jobs,
          job.id,
          JSON.stringify(job),
          String(dueAt),
          String(Math.max(1, job.deadline - Date.now())),
        );
      }),
    claim: (now, max, leaseMs) =>
      guarded(async () => {
        const found = (await client.eval(CLAIM, 2, due, jobs, String(now), String(max), String(leaseMs))) as string[];
        const out: LogoutJob[] = [];
        for (const text of found) {
          const job = JSON.parse(text) as LogoutJob;
          if (job.deadline > now) out.push(job);
          else await client.eval(REMOVE, 2, due, jobs, job.id);
        }
        return out;
      }),
    remove: (id) =>
      guarded(async () => {
        await client.eval(REMOVE, 2, due, jobs, id);
      }),
  };
}
