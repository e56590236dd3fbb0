/**
 * The oidc-provider adapter on Redis, one per model. Same decisions as the memory store (../reuse-policy.ts,
 * ../refresh-lineage.ts), taken atomically by the scripts in scripts.ts on the layout of keys.ts.
 *
 * Round trips: upsert, find (when the id's grant is known — see GrantLocator), consume, revokeByGrantId and
 * findBy* are one round trip each; the writes of one operation that land in different slots are issued in the
 * same tick and auto-pipelined. A find or consume of a grant member whose grant this instance has not seen
 * costs one more (the pointer). Destroying a Session or a grant member costs two (the record, then its indexes).
 *
 * Refresh tokens are generations of a lineage (../refresh-lineage.ts): the token names its grant and lineage, so
 * every refresh-token call is one script on the lineage's record in the grant's slot, with no pointer.
 * Refresh tokens of the earlier one-record-per-token format (random ids with a pointer) are still found,
 * consumed and revoked through the pointer path until they expire; their successors are lineage tokens.
 *
 * Inside a request's storage scope (../prefetch-scope.ts) a refresh-token grant costs less:
 * - `prefetch` reads the client's record and, for a refresh-token grant, the lineage, its Grant, its account and
 *   its session (when it expires with it) in one script at the start of the request (single node and Sentinel;
 *   on a Cluster they live in different slots, so only the client record is prefetched), and the provider's
 *   Client.find/find/Grant.find/Session.findByUid/account look-ups are served from that read. A request presenting
 *   an opaque access token (userinfo, introspection) or an authorization code (its exchange) likewise gets it
 *   with its Grant, account, client and session in one script. The counter hits the request makes in the same
 *   tick (its rate limits) travel in that script too (`withHits`; on a Cluster they go on their own).
 * - The consume of the rotated generation is held back and sent with the save of its successor as one script
 *   (LINEAGE_ROTATE): the compare-and-set is the same, and the successor is written only if the consume
 *   succeeded, so a request that loses the race fails exactly as a lone consume would (InvalidGrant, family
 *   revoked outside the interval). Any other storage call of the request, or its end, sends a held-back consume.
 * - ReplayDetection `find` claims the id atomically (SET NX), see ../reuse-policy.ts REPLAY_CLAIM_MS.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { LineageToken, RefreshTokenCodec } from '../refresh-lineage.ts';
import { GRANT_MEMBER_MODELS, REPLAY_CLAIM_MS, type ReusePolicy } from '../reuse-policy.ts';
import { type StorageScope, storageScope } from '../prefetch-scope.ts';
import type { Account, PrefetchHint, ReuseEvent } from '../types.ts';
import { guarded } from './errors.ts';
import type { KeyLayout } from './keys.ts';
import type { ScriptedClient } from './scripts.ts';

interface AdapterContext {
  readonly client: ScriptedClient;
  readonly keys: KeyLayout;
  readonly prefix: string;
  readonly reuse: ReusePolicy;
  /** Cross-slot keys are deleted by the scripts themselves (single node, Sentinel), not by the caller (Cluster). */
  readonly inline: boolean;
  readonly locator: GrantLocator;
  readonly codec: RefreshTokenCodec;
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

/** Client ids worth a look-up (printable ASCII, as `namedClient` in src/web/token-form.ts accepts them). */
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

const json = <T>(raw: string): T | undefined => (raw === '' ? undefined : (JSON.parse(raw) as T));

/**
 * Starts reading, for the current request's scope, what a token request will look up: the client's stored
 * record (a dynamic client; static ones never reach the store) and, for a refresh-token grant with a lineage
 * token, the lineage with its Grant, account and — for a token that expires with the session — that session; for
 * a code exchange the code, for userinfo and introspection the opaque access token, each with the same (and its
 * client's record). On a single node or Sentinel all of it is one script; on a Cluster only the client record is
 * prefetched (the rest lives in other slots). Only inside a scope, only for well-formed values, and only for
 * refresh tokens whose MAC verifies.
 */
export function prefetch(ctx: AdapterContext, what: PrefetchHint): void {
  const scope = storageScope();
  if (!scope) return;
  const clientId = what.clientId !== undefined && CLIENT_ID.test(what.clientId) ? what.clientId : undefined;
  const clientKey = clientId !== undefined ? ctx.keys.client(clientId) : '';
  const offerClient = (raw: Promise<string>) => {
    if (clientId !== undefined)
      scope.offer(
        `Client:${clientId}`,
        raw.then((p) => ({ value: json<AdapterPayload>(p) })),
      );
  };
  // On a Cluster the rest lives in other slots than the client record: only the record is read ahead.
  if (!ctx.inline) {
    if (clientId !== undefined) offerClient(ctx.client.hget(clientKey, 'p').then((p) => p ?? ''));
    return;
  }
  const opaque = (value: string | undefined) => (value !== undefined && OPAQUE_TOKEN.test(value) ? value : undefined);
  const code = opaque(what.code);
  const accessToken = opaque(what.accessToken);
  const presented = code ?? accessToken;
  if (presented !== undefined) {
    const model = code !== undefined ? 'AuthorizationCode' : 'AccessToken';
    // Introspection also looks the value up as these kinds; the script says which of them have no record at all.
    const anyKind = model === 'AccessToken' && what.anyKind === true;
    const reply = withHits(scope, (hits) =>
      ctx.client.ghPrefetchToken(
        1,
        ctx.keys.home(model, presented),
        ctx.prefix,
        `${model}:${presented}`,
        ctx.keys.accountBase(),
        clientKey,
        ...OTHER_KINDS.map((kind) => (anyKind ? ctx.keys.home(kind, presented) : '')),
        ...hits,
      ),
    );
    offerToken(scope, model, presented, clientId, offerClient, reply);
    if (anyKind)
      for (const [i, kind] of OTHER_KINDS.entries())
        scope.offer(
          `${kind}:${presented}`,
          reply.then((r) => (Number(r[8 + i]) === 0 ? { value: undefined } : undefined)),
        );
    return;
  }
  const token = what.refreshToken !== undefined ? ctx.codec.parse(what.refreshToken) : undefined;
  if (token === undefined) {
    const reply = withHits(scope, (hits) =>
      hits.length > 0 || clientId !== undefined ? ctx.client.ghPrefetchClient(0, clientKey, ...hits) : undefined,
    );
    offerClient(reply.then((r) => r[0] as string));
    return;
  }
  const id = what.refreshToken as string;
  const reply = withHits(scope, (hits) =>
    ctx.client.ghPrefetchRefresh(
      1,
      ctx.keys.lineage(token.grantId, token.lineage),
      ctx.prefix,
      token.gen,
      ctx.reuse.reuseIntervalMs,
      ctx.keys.grant(token.grantId),
      ctx.keys.accountBase(),
      clientKey,
      ...hits,
    ),
  );
  offerClient(reply.then((r) => r[4] as string));
  const found = reply.then(
    ([payload, consumed, grant, account, , sessionId, session]): Prefetched<AdapterPayload | undefined> => {
      const out = json<AdapterPayload>(payload as string);
      if (!out) return { value: undefined };
      out.jti = id;
      if (consumed) out.consumed = Number(consumed);
      offerRelated(scope, token.grantId, out, {
        grant: grant as string,
        account: account as string,
        sessionId: sessionId as string,
        session: session as string,
      });
      return { value: out };
    },
  );
  scope.offer(`RefreshToken:${id}`, found);
}

interface PendingHit {
  readonly key: string;
  readonly windowSeconds: number;
  resolve(count: number): void;
  reject(err: unknown): void;
}

/**
 * Sends a prefetch script at the end of the current tick, carrying the counter hits the request makes in that tick
 * (the rate limiter's: src/storage/prefetch-scope.ts `joinHit`), so reads and counters are one script and one
 * round trip. The script's reply ends with one count per hit, in order; each hit's promise gets its count or the
 * script's error. `send` answers undefined when there is nothing to send (the reply is then empty).
 */
function withHits(
  scope: StorageScope,
  send: (hits: Array<string | number>) => Promise<unknown> | undefined,
): Promise<unknown[]> {
  const pending: PendingHit[] = [];
  scope.acceptHits(
    (key, windowSeconds) =>
      new Promise<number>((resolve, reject) => {
        pending.push({ key, windowSeconds, resolve, reject });
      }),
  );
  return new Promise<unknown[]>((resolve) => {
    process.nextTick(() => {
      scope.acceptHits(undefined);
      const reply = (send(pending.flatMap((h) => [h.key, h.windowSeconds])) ?? Promise.resolve([])) as Promise<
        unknown[]
      >;
      reply.then(
        (r) => {
          const first = r.length - pending.length;
          for (const [i, h] of pending.entries()) h.resolve(Number(r[first + i]));
        },
        (err: unknown) => {
          for (const h of pending) h.reject(err);
        },
      );
      resolve(reply);
    });
  });
}

/**
 * Offers what a prefetch script read beside a token, decoded only if asked for, for the look-ups the provider makes
 * after finding it: the Grant `grantId` (when the token names one), the token's account and, for a token that
 * expires with the session, that session ('' where the script found none).
 */
function offerRelated(
  scope: StorageScope,
  grantId: string | undefined,
  token: AdapterPayload,
  read: { grant?: string; account?: string; sessionId?: string; session?: string },
): void {
  if (grantId !== undefined)
    scope.offerDecoded(`Grant:${grantId}`, () => ({ value: json<AdapterPayload>(read.grant ?? '') }));
  if (typeof token.accountId === 'string')
    scope.offerDecoded(`account:${token.accountId}`, () => ({ value: json<Account>(read.account ?? '') }));
  if (token.expiresWithSession === true && typeof token.sessionUid === 'string') {
    scope.offerDecoded(`Session:uid:${token.sessionUid}`, () => ({
      value: read.sessionId ? json<AdapterPayload>(read.session ?? '') : undefined,
    }));
  }
}

/**
 * The other kinds an introspected value is looked up as, besides an access token. Where such a key does not exist
 * the value is not that kind (a refresh token of the earlier format is found through exactly that key; a lineage
 * token never has this shape); where it exists, the provider's own look-up reads it.
 */
const OTHER_KINDS = ['ClientCredentials', 'RefreshToken'] as const;

/** An opaque token value (oidc-provider's ids: base64url); JWTs and anything else are never looked up here. */
const OPAQUE_TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

/** What PREFETCH_TOKEN read for the `model` record `id` and its look-ups, offered to the request's scope. */
function offerToken(
  scope: StorageScope,
  model: 'AccessToken' | 'AuthorizationCode',
  id: string,
  clientId: string | undefined,
  offerClient: (raw: Promise<string>) => void,
  reply: Promise<unknown[]>,
): void {
  offerClient(reply.then((r) => r[4] as string));
  const found = reply.then(
    ([payload, consumed, grant, account, , client, sessionId, session]): Prefetched<AdapterPayload | undefined> => {
      const out = json<AdapterPayload>(payload as string);
      if (!out) return { value: undefined };
      if (consumed) out.consumed = Number(consumed);
      offerRelated(scope, typeof out.grantId === 'string' ? out.grantId : undefined, out, {
        grant: grant as string,
        account: account as string,
        sessionId: sessionId as string,
        session: session as string,
      });
      if (typeof out.clientId === 'string' && out.clientId !== clientId)
        scope.offerDecoded(`Client:${out.clientId}`, () => ({ value: json<AdapterPayload>(client as string) }));
      return { value: out };
    },
  );
  scope.offer(`${model}:${id}`, found);
}

/** Sends what the current request held back (a consume) before another storage call goes out. */
async function settle(): Promise<void> {
  await storageScope()?.settle();
}

/** Deletes the cross-slot keys a script returned (on a Cluster; inline scripts return none). */
async function removeGone(client: ScriptedClient, gone: unknown[]): Promise<void> {
  await Promise.all(gone.map((k) => client.unlink(String(k))));
}

/** What a consume script answered: nothing on success, InvalidGrant otherwise (reuse: revoked, reported). */
async function consumed(ctx: AdapterContext, model: string, reply: unknown[]): Promise<void> {
  const [status] = reply;
  if (status === 'missing') throw new errors.InvalidGrant('grant request is invalid');
  if (status === 'grace' || status === 'ok') return;
  await removeGone(ctx.client, reply.slice(2));
  const payload = JSON.parse(String(reply[1])) as AdapterPayload;
  ctx.emitReuse({ model, grantId: payload.grantId, clientId: payload.clientId, accountId: payload.accountId });
  throw new errors.InvalidGrant(`${model === 'RefreshToken' ? 'refresh token' : 'authorization code'} already used`);
}

export function redisAdapter(model: string, ctx: AdapterContext): Adapter {
  const generic = recordAdapter(model, ctx);
  if (model === 'RefreshToken') return refreshTokenAdapter(ctx, generic);
  if (model === 'ReplayDetection') {
    const claimTtl = String(REPLAY_CLAIM_MS);
    return {
      ...generic,
      // The find is the claim: of concurrent presentations of one id exactly one finds nothing.
      find: (id) =>
        guarded(async () => {
          const won = await ctx.client.set(ctx.keys.home(model, id), '', 'PX', claimTtl, 'NX');
          return won === 'OK' ? undefined : { jti: id, kind: model };
        }),
    };
  }
  return generic;
}

/**
 * Refresh tokens: lineage tokens go to their lineage's record; anything else that could be a refresh token of the
 * earlier format goes the generic pointer path (`legacy`), which finds nothing for ids it never stored.
 */
function refreshTokenAdapter(ctx: AdapterContext, legacy: Adapter): Adapter {
  const { client, keys, codec } = ctx;
  const model = 'RefreshToken';
  const grace = ctx.reuse.reuseIntervalMs;
  const common = [ctx.prefix, ctx.inline ? '1' : '0'];
  const at = (token: LineageToken) => ({
    key: keys.lineage(token.grantId, token.lineage),
    members: keys.members(token.grantId),
    grant: keys.grant(token.grantId),
    base: keys.grantBase(token.grantId),
    member: `${model}:${token.lineage}`,
  });

  /** Before a write of `id`: what the request held back goes first, and its prefetched copy is dropped. */
  const writing = async (id: string) => {
    const scope = storageScope();
    await scope?.settle();
    scope?.forget(`${model}:${id}`);
    return scope;
  };

  const consumeNow = async (token: LineageToken) => {
    const k = at(token);
    await consumed(
      ctx,
      model,
      (await client.ghLineageConsume(3, k.key, k.members, k.grant, ...common, token.gen, grace, k.base)) as unknown[],
    );
  };

  return {
    upsert: (id, payload, expiresIn) =>
      guarded(async () => {
        const token = codec.parse(id);
        if (!token || token.grantId !== payload.grantId)
          throw new TypeError('refresh token ids are minted by the store (refreshTokens.mint)');
        const scope = storageScope();
        scope?.forget(`${model}:${id}`);
        const held = scope?.takeDeferred();
        const k = at(token);
        const json = JSON.stringify(payload);
        const ttl = ttlArg(expiresIn);
        // What the prefetch looks up with the lineage, kept beside the payload so that Lua never decodes it.
        const account = typeof payload.accountId === 'string' ? payload.accountId : '';
        const session =
          payload.expiresWithSession === true && typeof payload.sessionUid === 'string' ? payload.sessionUid : '';
        if (held && held.model === model && held.lineage === token.lineage && held.grantId === token.grantId) {
          const reply = await client.ghLineageRotate(
            3,
            k.key,
            k.members,
            k.grant,
            ...common,
            held.gen,
            grace,
            k.base,
            token.gen,
            json,
            ttl,
            k.member,
            account,
            session,
          );
          await consumed(ctx, model, reply as unknown[]);
          return;
        }
        await held?.run();
        await client.ghLineageSave(2, k.key, k.members, token.gen, json, ttl, k.member, account, session);
      }),

    find: (id) =>
      guarded(async () => {
        await settle();
        const pre = await prefetched<AdapterPayload | undefined>(`${model}:${id}`);
        if (pre) return pre.value;
        const token = codec.parse(id);
        if (!token) return legacy.find(id);
        const reply = (await client.ghLineageFind(1, at(token).key, token.gen, grace)) as
          | [string, string, string?]
          | null;
        if (!reply) return undefined;
        const out = JSON.parse(reply[1]) as AdapterPayload;
        out.jti = id;
        if (reply[2] !== undefined) out.consumed = Number(reply[2]);
        return out;
      }),

    findByUid: legacy.findByUid,
    findByUserCode: legacy.findByUserCode,

    consume: (id) =>
      guarded(async () => {
        const token = codec.parse(id);
        if (!token) return legacy.consume(id);
        const scope = await writing(id);
        if (scope) {
          // Held back until the successor is saved (LINEAGE_ROTATE), or the next storage call or the request's end.
          scope.defer({
            model,
            id,
            grantId: token.grantId,
            lineage: token.lineage,
            gen: token.gen,
            run: () => guarded(() => consumeNow(token)),
          });
          return;
        }
        await consumeNow(token);
      }),

    destroy: (id) =>
      guarded(async () => {
        const token = codec.parse(id);
        if (!token) return legacy.destroy(id);
        await writing(id);
        const k = at(token);
        await client.ghDestroy(2, k.key, k.members, k.member);
      }),

    revokeByGrantId: legacy.revokeByGrantId,
  };
}

/** The adapter of every model whose records are stored one per id (all but lineage refresh tokens). */
function recordAdapter(model: string, ctx: AdapterContext): Adapter {
  const { client, keys, reuse, locator } = ctx;
  const member = GRANT_MEMBER_MODELS.has(model);
  const graceMs = model === 'RefreshToken' ? reuse.reuseIntervalMs : 0;
  const common = [ctx.prefix, ctx.inline ? '1' : '0'];

  const ownKey = (id: string) =>
    model === 'Client' ? keys.client(id) : model === 'Grant' ? keys.grant(id) : keys.home(model, id);

  const cleanUp = (gone: unknown[]) => removeGone(client, gone);

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

  const consumeNow = async (id: string): Promise<void> => {
    const at = await locate(id);
    const family = at.kind === 'family' ? [keys.members(at.grantId), keys.grant(at.grantId)] : [];
    const pointer = at.kind === 'family' ? keys.home(model, id) : '';
    const base = at.kind === 'family' ? keys.grantBase(at.grantId) : '';
    await consumed(
      ctx,
      model,
      (await client.ghConsume(1 + family.length, at.key, ...family, ...common, graceMs, base, pointer)) as unknown[],
    );
  };

  return {
    upsert: (id, payload, expiresIn) =>
      guarded(async () => {
        const scope = storageScope();
        scope?.forget(`${model}:${id}`);
        await scope?.settle();
        const ttl = ttlArg(expiresIn);
        const json = JSON.stringify(payload);
        const ops: Promise<unknown>[] = [];
        const setIndex = (key: string, value: string) =>
          ops.push(ttl === '' ? client.set(key, value) : client.set(key, value, 'PX', ttl));
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
        await consumeNow(id);
      }),

    destroy: (id) =>
      guarded(async () => {
        const scope = storageScope();
        await scope?.settle();
        scope?.forget(`${model}:${id}`);
        if (model === 'Grant') {
          await cleanUp(
            (await client.ghRevokeFamily(
              2,
              keys.members(id),
              keys.grant(id),
              ...common,
              keys.grantBase(id),
            )) as unknown[],
          );
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
        await cleanUp(
          (await client.ghRevokeModel(
            1,
            keys.members(grantId),
            ...common,
            keys.grantBase(grantId),
            `${model}:`,
          )) as unknown[],
        );
      }),
  };
}
