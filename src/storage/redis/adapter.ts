/**
 * The oidc-provider adapter on Redis, one per model. Same decisions as the memory store (../reuse-policy.ts),
 * taken atomically by the scripts in scripts.ts on the layout of keys.ts.
 *
 * Round trips: upsert, find (when the id's grant is known — see GrantLocator), consume, revokeByGrantId and
 * findBy* are one round trip each; the writes of one operation that land in different slots are issued in the
 * same tick and auto-pipelined. A find or consume of a grant member whose grant this instance has not seen
 * costs one more (the pointer). Destroying a Session or a grant member costs two (the record, then its indexes).
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';
import { GRANT_MEMBER_MODELS, type ReusePolicy } from '../reuse-policy.ts';
import type { ReuseEvent } from '../types.ts';
import { guarded } from './errors.ts';
import type { KeyLayout } from './keys.ts';
import type { ScriptedClient } from './scripts.ts';

export interface AdapterContext {
  readonly client: ScriptedClient;
  readonly keys: KeyLayout;
  readonly prefix: string;
  readonly reuse: ReusePolicy;
  /** Cross-slot keys are deleted by the scripts themselves (single node, Sentinel), not by the caller (Cluster). */
  readonly inline: boolean;
  readonly locator: GrantLocator;
  emitReuse(event: ReuseEvent): void;
}

/**
 * Remembers which grant a token id belongs to. The mapping never changes once written, so a cached entry is
 * never wrong; it only saves the pointer lookup. Bounded: the oldest entries are dropped first.
 */
export class GrantLocator {
  readonly #map = new Map<string, string>();
  readonly #max: number;
  constructor(max = 10_000) {
    this.#max = max;
  }
  get(model: string, id: string): string | undefined {
    return this.#map.get(`${model}:${id}`);
  }
  set(model: string, id: string, grantId: string): void {
    const k = `${model}:${id}`;
    this.#map.delete(k);
    this.#map.set(k, grantId);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as string);
  }
}

type Location = { kind: 'family'; grantId: string; key: string } | { kind: 'home'; key: string };

const ttlArg = (expiresIn: number | undefined) => (typeof expiresIn === 'number' ? String(expiresIn * 1000) : '');

export function redisAdapter(model: string, ctx: AdapterContext): Adapter {
  const { client, keys, reuse, locator } = ctx;
  const member = GRANT_MEMBER_MODELS.has(model);
  const graceMs = model === 'RefreshToken' ? reuse.reuseIntervalMs : 0;
  const common = [ctx.prefix, ctx.inline ? '1' : '0'];

  const ownKey = (id: string) => (model === 'Client' ? keys.client(id) : model === 'Grant' ? keys.grant(id) : keys.home(model, id));

  /** Deletes (or, with a leading "~", shortens to the detection window) the cross-slot keys a script returned. */
  const cleanUp = async (gone: unknown[]) => {
    await Promise.all(
      gone.map((k) =>
        String(k).startsWith('~') ? client.pexpire(String(k).slice(1), Math.max(reuse.detectionSeconds * 1000, 1)) : client.unlink(String(k)),
      ),
    );
  };

  const parseFound = (reply: unknown): AdapterPayload | undefined => {
    if (!Array.isArray(reply) || reply[0] !== 'p') return undefined;
    const [, payload, consumed] = reply as [string, string, string | undefined];
    const out = JSON.parse(payload) as AdapterPayload;
    if (consumed !== undefined) out.consumed = Number(consumed);
    return out;
  };

  /** Reads a record by id, following a grant pointer when needed. */
  const find = async (id: string): Promise<AdapterPayload | undefined> => {
    const cached = member ? locator.get(model, id) : undefined;
    if (cached !== undefined) return parseFound(await client.ghFind(1, keys.familyRecord(cached, model, id), graceMs));
    const reply = (await client.ghFind(1, ownKey(id), graceMs)) as [string, string] | null;
    if (!reply) return undefined;
    if (reply[0] !== '@') return parseFound(reply);
    const grantId = reply[1].slice(1);
    locator.set(model, id, grantId);
    return parseFound(await client.ghFind(1, keys.familyRecord(grantId, model, id), graceMs));
  };

  /** Where the record of `id` lives: its grant's slot or its own key. */
  const locate = async (id: string): Promise<Location> => {
    if (member) {
      let grantId = locator.get(model, id);
      if (grantId === undefined) {
        const reply = (await client.ghFind(1, ownKey(id), 0)) as [string, string] | null;
        if (reply?.[0] === '@') {
          grantId = reply[1].slice(1);
          locator.set(model, id, grantId);
        }
      }
      if (grantId !== undefined) return { kind: 'family', grantId, key: keys.familyRecord(grantId, model, id) };
    }
    return { kind: 'home', key: ownKey(id) };
  };

  return {
    upsert: (id, payload, expiresIn) =>
      guarded(async () => {
        const ttl = ttlArg(expiresIn);
        const json = JSON.stringify(payload);
        const ops: Promise<unknown>[] = [];
        const setIndex = (key: string, value: string) => ops.push(ttl === '' ? client.set(key, value) : client.set(key, value, 'PX', ttl));
        if (member && payload.grantId) {
          const g = payload.grantId;
          ops.push(client.ghUpsert(2, keys.familyRecord(g, model, id), keys.members(g), json, ttl, `${model}:${id}`));
          setIndex(keys.home(model, id), `@${g}`);
          locator.set(model, id, g);
        } else {
          ops.push(client.ghUpsert(1, ownKey(id), json, ttl, ''));
          if (model === 'Client') ops.push(client.sadd(keys.clientIndex(), id));
        }
        if (model === 'Session' && payload.uid) setIndex(keys.uid(payload.uid), id);
        if (payload.userCode) setIndex(keys.userCode(payload.userCode), id);
        await Promise.all(ops);
      }),

    find: (id) => guarded(() => find(id)),

    findByUid: (uid) =>
      guarded(async () => {
        const id = await client.get(keys.uid(uid));
        return id === null ? undefined : find(id);
      }),

    findByUserCode: (userCode) =>
      guarded(async () => {
        const id = await client.get(keys.userCode(userCode));
        return id === null ? undefined : find(id);
      }),

    consume: (id) =>
      guarded(async () => {
        const at = await locate(id);
        const pointer = at.kind === 'family' ? keys.home(model, id) : '';
        const family = at.kind === 'family' ? [keys.members(at.grantId), keys.consumed(at.grantId), keys.grant(at.grantId)] : [];
        const reply = (await client.ghConsume(
          1 + family.length,
          at.key,
          ...family,
          ...common,
          graceMs,
          model === 'RefreshToken' ? '1' : '0',
          reuse.detectionSeconds * 1000,
          reuse.detectionDepth,
          `${model}:${id}`,
          at.kind === 'family' ? keys.grantBase(at.grantId) : '',
          pointer,
        )) as unknown[];
        const [status] = reply;
        if (status === 'missing') throw new errors.InvalidGrant('grant request is invalid');
        if (status === 'grace') return;
        if (status === 'ok') {
          await cleanUp(reply.slice(1));
          return;
        }
        await cleanUp(reply.slice(2));
        const payload = JSON.parse(String(reply[1])) as AdapterPayload;
        ctx.emitReuse({ model, grantId: payload.grantId, clientId: payload.clientId, accountId: payload.accountId });
        throw new errors.InvalidGrant(`${model === 'RefreshToken' ? 'refresh token' : 'authorization code'} already used`);
      }),

    destroy: (id) =>
      guarded(async () => {
        if (model === 'Grant') {
          await cleanUp((await client.ghRevokeFamily(3, keys.members(id), keys.consumed(id), keys.grant(id), ...common, keys.grantBase(id))) as unknown[]);
          return;
        }
        const at = await locate(id);
        const raw = (
          at.kind === 'family'
            ? await client.ghDestroy(2, at.key, keys.members(at.grantId), `${model}:${id}`)
            : await client.ghDestroy(1, at.key, '')
        ) as string | null;
        const gone: string[] = [];
        if (at.kind === 'family') gone.push(keys.home(model, id));
        if (model === 'Client') await client.srem(keys.clientIndex(), id);
        if (raw !== null) {
          const payload = JSON.parse(raw) as AdapterPayload;
          if (model === 'Session' && payload.uid) gone.push(keys.uid(payload.uid));
          if (payload.userCode) gone.push(keys.userCode(payload.userCode));
        }
        await cleanUp(gone);
      }),

    revokeByGrantId: (grantId) =>
      guarded(async () => {
        await cleanUp((await client.ghRevokeModel(1, keys.members(grantId), ...common, keys.grantBase(grantId), `${model}:`)) as unknown[]);
      }),
  };
}
