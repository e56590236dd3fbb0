/**
 * The oidc-provider adapter on Redis, one per model. Same decisions as the memory store (../reuse-policy.ts),
 * taken atomically by the scripts in scripts.ts on the layout of keys.ts.
 *
 * Round trips: upsert, find (when the id's grant is known — see GrantLocator), consume, revokeByGrantId and
 * findBy* are one round trip each; the writes of one operation that land in different slots are issued in the
 * same tick and auto-pipelined. A find or consume of a grant member whose grant this instance has not seen
 * costs one more (the pointer). Destroying a Session or a grant member costs two (the record, then its indexes).
 *
 * Inside a request's storage scope (../request-scope.ts) a refresh-token grant costs less:
 * - `prefetch` reads the client's record and, for a refresh-token grant, the token, its Grant, its account and
 *   its session (when it expires with it) in one script at the start of the request (single node and Sentinel;
 *   on a Cluster they live in different slots, so only the client record is prefetched), and the provider's
 *   Client.find/find/Grant.find/Session.findByUid/account look-ups are served from that read.
 * - The consume of the rotated token is held back and sent with the save of its successor as one script
 *   (ROTATE): the compare-and-set is the same, and the successor is written only if the consume succeeded, so
 *   a request that loses the race fails exactly as before (InvalidGrant, family revoked outside the interval).
 *   Any other storage call of the request, or its end, sends a held-back consume first.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';
import { GRANT_MEMBER_MODELS, type ReusePolicy } from '../reuse-policy.ts';
import { storageScope } from '../request-scope.ts';
import type { Account, ReuseEvent } from '../types.ts';
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

/** A prefetched answer: `{ value }` (which may be undefined: "not found"), or undefined when there is none. */
type Prefetched<T> = { value: T } | undefined;

/** The look-up `key` of the current request's scope, if one was prefetched (a failed prefetch counts as none). */
export async function prefetched<T>(key: string, keep = false): Promise<Prefetched<T>> {
  const scope = storageScope();
  const pending = keep ? scope?.peek(key) : scope?.take(key);
  if (!pending) return undefined;
  return ((await pending.catch(() => undefined)) as Prefetched<T>) ?? undefined;
}

/** oidc-provider's opaque token ids (base64url); anything else is not worth a look-up. */
const TOKEN_ID = /^[A-Za-z0-9_-]{16,256}$/;
/** Client ids worth a look-up (printable ASCII, as the rate limiter accepts them). */
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

const json = <T>(raw: string): T | undefined => (raw === '' ? undefined : (JSON.parse(raw) as T));

/**
 * Starts reading, for the current request's scope, what a token request will look up: the client's stored
 * record (a dynamic client; static ones never reach the store) and, for a refresh-token grant, the token with its
 * Grant, account and — for a token that expires with the session — that session. On a single node or Sentinel
 * all of it is one script; on a Cluster only the client record is prefetched (the rest lives in other slots).
 * Only inside a scope, and only for well-formed ids.
 */
export function prefetch(ctx: AdapterContext, what: { clientId?: string; refreshToken?: string }): void {
  const scope = storageScope();
  if (!scope) return;
  const clientId = what.clientId !== undefined && CLIENT_ID.test(what.clientId) ? what.clientId : undefined;
  const token = what.refreshToken !== undefined && TOKEN_ID.test(what.refreshToken) ? what.refreshToken : undefined;
  const offerClient = (raw: Promise<string>) => {
    if (clientId !== undefined) scope.offer(`Client:${clientId}`, raw.then((p) => ({ value: json<AdapterPayload>(p) })));
  };
  if (token === undefined || !ctx.inline) {
    if (clientId !== undefined) offerClient(ctx.client.hget(ctx.keys.client(clientId), 'p').then((p) => p ?? ''));
    return;
  }
  const reply = ctx.client.ghPrefetchRefresh(
    1,
    ctx.keys.home('RefreshToken', token),
    ctx.prefix,
    `RefreshToken:${token}`,
    ctx.reuse.reuseIntervalMs,
    ctx.keys.accountBase(),
    clientId !== undefined ? ctx.keys.client(clientId) : '',
  ) as Promise<string[]>;
  offerClient(reply.then((r) => r[5] as string));
  const found = reply.then(([grantId, payload, consumed, grant, account, , sessionId, session]): Prefetched<AdapterPayload | undefined> => {
    // No pointer: let the ordinary find decide (it is an unknown or malformed token).
    if (!grantId) return undefined;
    ctx.locator.set('RefreshToken', token, grantId);
    scope.offer(`Grant:${grantId}`, Promise.resolve({ value: json<AdapterPayload>(grant as string) }));
    const out = json<AdapterPayload>(payload as string);
    if (!out) return { value: undefined };
    if (consumed) out.consumed = Number(consumed);
    if (typeof out.accountId === 'string') scope.offer(`account:${out.accountId}`, Promise.resolve({ value: json<Account>(account as string) }));
    if (out.expiresWithSession === true && typeof out.sessionUid === 'string') {
      scope.offer(`Session:uid:${out.sessionUid}`, Promise.resolve({ value: sessionId ? json<AdapterPayload>(session as string) : undefined }));
    }
    return { value: out };
  });
  scope.offer(`RefreshToken:${token}`, found);
}

/** Sends what the current request held back (a consume) before another storage call goes out. */
async function settle(): Promise<void> {
  await storageScope()?.settle();
}

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

  /** What a consume (or the consume inside ROTATE) answered: nothing on success, InvalidGrant otherwise. */
  const consumed = async (reply: unknown[]): Promise<void> => {
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
  };

  /** The consume arguments after the keys: grace, kind, detection window, depth, member, family base, pointer. */
  const consumeArgs = (id: string, grantId: string | undefined) => [
    graceMs,
    model === 'RefreshToken' ? '1' : '0',
    reuse.detectionSeconds * 1000,
    reuse.detectionDepth,
    `${model}:${id}`,
    grantId !== undefined ? keys.grantBase(grantId) : '',
    grantId !== undefined ? keys.home(model, id) : '',
  ];

  const consumeNow = async (id: string): Promise<void> => {
    const at = await locate(id);
    const family = at.kind === 'family' ? [keys.members(at.grantId), keys.consumed(at.grantId), keys.grant(at.grantId)] : [];
    const grantId = at.kind === 'family' ? at.grantId : undefined;
    await consumed((await client.ghConsume(1 + family.length, at.key, ...family, ...common, ...consumeArgs(id, grantId))) as unknown[]);
  };

  /** Consumes refresh token `oldId` and saves its successor `id` in the same family, in one script. */
  const rotate = async (oldId: string, grantId: string, id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> => {
    const ttl = ttlArg(expiresIn);
    const pointer = keys.home(model, id);
    const ops: Promise<unknown>[] = [
      client.ghRotate(
        5,
        keys.familyRecord(grantId, model, oldId),
        keys.members(grantId),
        keys.consumed(grantId),
        keys.grant(grantId),
        keys.familyRecord(grantId, model, id),
        ...common,
        ...consumeArgs(oldId, grantId),
        JSON.stringify(payload),
        ttl,
        `${model}:${id}`,
        ctx.inline ? pointer : '',
        `@${grantId}`,
      ),
    ];
    // On a Cluster the pointer lives in another slot: written alongside (it points at nothing if the consume fails).
    if (!ctx.inline) ops.push(ttl === '' ? client.set(pointer, `@${grantId}`) : client.set(pointer, `@${grantId}`, 'PX', ttl));
    locator.set(model, id, grantId);
    const [reply] = await Promise.all(ops);
    await consumed(reply as unknown[]);
  };

  return {
    upsert: (id, payload, expiresIn) =>
      guarded(async () => {
        const scope = storageScope();
        scope?.forget(`${model}:${id}`);
        const held = scope?.takeDeferred();
        if (held && held.model === model && held.grantId === payload.grantId) {
          await rotate(held.id, held.grantId, id, payload, expiresIn);
          return;
        }
        await held?.run();
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

    find: (id) =>
      guarded(async () => {
        await settle();
        const pre = await prefetched<AdapterPayload | undefined>(`${model}:${id}`);
        return pre ? pre.value : find(id);
      }),

    findByUid: (uid) =>
      guarded(async () => {
        await settle();
        const pre = await prefetched<AdapterPayload | undefined>(`${model}:uid:${uid}`);
        if (pre) return pre.value;
        const id = await client.get(keys.uid(uid));
        return id === null ? undefined : find(id);
      }),

    findByUserCode: (userCode) =>
      guarded(async () => {
        await settle();
        const id = await client.get(keys.userCode(userCode));
        return id === null ? undefined : find(id);
      }),

    consume: (id) =>
      guarded(async () => {
        const scope = storageScope();
        await scope?.settle();
        scope?.forget(`${model}:${id}`);
        const grantId = model === 'RefreshToken' ? locator.get(model, id) : undefined;
        if (scope && grantId !== undefined) {
          // Held back until the successor is saved (ROTATE), or until the next storage call or the request's end.
          scope.defer({ model, id, grantId, run: () => guarded(() => consumeNow(id)) });
          return;
        }
        await consumeNow(id);
      }),

    destroy: (id) =>
      guarded(async () => {
        const scope = storageScope();
        await scope?.settle();
        scope?.forget(`${model}:${id}`);
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
        await settle();
        await cleanUp((await client.ghRevokeModel(1, keys.members(grantId), ...common, keys.grantBase(grantId), `${model}:`)) as unknown[]);
      }),
  };
}
