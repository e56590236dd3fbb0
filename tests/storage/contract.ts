/**
 * The storage contract (src/storage/types.ts, src/storage/reuse-policy.ts), written once and run against every
 * store: memory, a single Redis and a 3-master Redis Cluster (contract-*.test.ts). A fixture makes a fresh,
 * isolated store for a reuse policy and can list the keys it holds and those without a TTL.
 */
import type { ExecutionContext, TestFn } from 'ava';
import { errors } from 'oidc-provider';
import { RefreshTokenCodec } from '../../src/storage/refresh-lineage.ts';
import { withStorageScope } from '../../src/storage/prefetch-scope.ts';
import type { ReusePolicy } from '../../src/storage/reuse-policy.ts';
import type { ReuseEvent, Store } from '../../src/storage/types.ts';
import { defined } from '../helpers/defined.ts';

export interface Fixture {
  store: Store;
  /** Every key the store holds now. */
  keys(): Promise<string[]>;
  /** Keys with no expiry. */
  keysWithoutTtl(): Promise<string[]>;
  /** True for the keys of records that legitimately never expire (clients, accounts). */
  durable(key: string): boolean;
}

export type MakeFixture = (policy: ReusePolicy, t: ExecutionContext) => Promise<Fixture>;

export const STRICT: ReusePolicy = { reuseIntervalMs: 0 };
export const GRACE: ReusePolicy = { reuseIntervalMs: 5000 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seq = 0;
const uid = (p: string) => `${p}${process.pid}x${Date.now().toString(36)}x${seq++}`;

const lineage = () => RefreshTokenCodec.newLineage();
const rtId = (store: Store, grantId: string, l: string, gen: number) =>
  store.refreshTokens.mint({ grantId, lineage: l, gen });

function token(grantId: string, extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iat: now,
    exp: now + 3600,
    grantId,
    clientId: 'web',
    accountId: 'acct-1',
    kind: 'RefreshToken',
    scope: 'openid',
    rejected: [],
    ...extra,
  };
}

export function contractSuite(test: TestFn, name: string, make: MakeFixture): void {
  const t = (title: string) => `${name}: ${title}`;
  /** A store with the given policy, its reuse events recorded, and a grant to hang tokens on. */
  const withGrant = async (policy: ReusePolicy, ctx: ExecutionContext) => {
    const { store, keys } = await make(policy, ctx);
    const events: ReuseEvent[] = [];
    store.onReuse((e) => events.push(e));
    const grantId = uid('g');
    await store.adapter('Grant').upsert(grantId, { kind: 'Grant', accountId: 'acct-1', clientId: 'web' }, 3600);
    return { store, keys, events, grantId };
  };

  test(t('upsert, find and destroy keep the payload exactly'), async (t) => {
    const { store } = await make(STRICT, t);
    const sessions = store.adapter('Session');
    const id = uid('s');
    const payload = {
      uid: uid('u'),
      accountId: 'a',
      loginTs: 1,
      authorizations: { web: { sid: 'x', grantId: 'g' } },
      amr: [] as string[],
      empty: [],
    };
    await sessions.upsert(id, payload, 60);
    t.deepEqual(await sessions.find(id), payload);
    t.deepEqual(await sessions.findByUid(payload.uid), payload);
    t.is(await sessions.find(uid('missing')), undefined);
    t.is(await sessions.findByUid(uid('missing')), undefined);
    await sessions.destroy(id);
    t.is(await sessions.find(id), undefined);
    t.is(await sessions.findByUid(payload.uid), undefined, 'the uid index goes with the session');
  });

  test(t('findByUserCode finds a device code, with and without a grant'), async (t) => {
    const { store } = await make(STRICT, t);
    const device = store.adapter('DeviceCode');
    const id = uid('d');
    const userCode = uid('UC');
    await device.upsert(id, { userCode, clientId: 'web', kind: 'DeviceCode' }, 60);
    t.is((await device.findByUserCode(userCode))?.clientId, 'web');
    const grantId = uid('g');
    await device.upsert(id, { userCode, clientId: 'web', kind: 'DeviceCode', grantId, accountId: 'a' }, 60);
    t.is((await device.findByUserCode(userCode))?.grantId, grantId);
    t.is((await device.find(id))?.grantId, grantId);
    await device.destroy(id);
    t.is(await device.findByUserCode(userCode), undefined);
  });

  test(t('an authorization code is consumed once; a second consume revokes the family and emits reuse'), async (t) => {
    const { store, events, grantId } = await withGrant(STRICT, t);
    const codes = store.adapter('AuthorizationCode');
    const code = uid('c');
    await codes.upsert(code, token(grantId, { kind: 'AuthorizationCode' }), 60);
    const at = uid('at');
    await store.adapter('AccessToken').upsert(at, token(grantId, { kind: 'AccessToken' }), 60);
    await codes.consume(code);
    const found = await codes.find(code);
    t.is(typeof found?.consumed, 'number', 'found consumed');
    const err = await t.throwsAsync(codes.consume(code));
    t.true(err instanceof errors.InvalidGrant);
    t.is(await codes.find(code), undefined);
    t.is(await store.adapter('AccessToken').find(at), undefined, 'the family is revoked');
    t.is(await store.adapter('Grant').find(grantId), undefined);
    t.deepEqual(events, [{ model: 'AuthorizationCode', grantId, clientId: 'web', accountId: 'acct-1' }]);
  });

  test(t('consuming a missing or expired record fails and creates nothing'), async (t) => {
    const { store, keys } = await make(STRICT, t);
    const rts = store.adapter('RefreshToken');
    const before = await keys();
    const missing = await t.throwsAsync(rts.consume(uid('nope')));
    t.true(missing instanceof errors.InvalidGrant);
    const unknownLineage = await t.throwsAsync(rts.consume(rtId(store, uid('g'), lineage(), 0)));
    t.true(unknownLineage instanceof errors.InvalidGrant);
    t.deepEqual(await keys(), before);

    const grantId = uid('g');
    const id = rtId(store, grantId, lineage(), 0);
    await rts.upsert(id, token(grantId), 1);
    await sleep(1100);
    const expired = await t.throwsAsync(rts.consume(id));
    t.true(expired instanceof errors.InvalidGrant);
    t.is(await rts.find(id), undefined);
    t.deepEqual(await keys(), before, 'no record recreated');
  });

  test(t('records expire with their TTL'), async (t) => {
    const { store } = await make(STRICT, t);
    const grantId = uid('g');
    const sid = uid('s');
    const sessionUid = uid('u');
    const rt = rtId(store, grantId, lineage(), 0);
    await store.adapter('Session').upsert(sid, { uid: sessionUid, accountId: 'a' }, 1);
    await store.adapter('Interaction').upsert(sid, { kind: 'Interaction' }, 1);
    await store.adapter('RefreshToken').upsert(rt, token(grantId), 1);
    await store.adapter('Grant').upsert(grantId, { kind: 'Grant', accountId: 'a', clientId: 'web' }, 1);
    t.truthy(await store.adapter('RefreshToken').find(rt));
    await sleep(1100);
    t.is(await store.adapter('Session').find(sid), undefined);
    t.is(await store.adapter('Session').findByUid(sessionUid), undefined);
    t.is(await store.adapter('Interaction').find(sid), undefined);
    t.is(await store.adapter('RefreshToken').find(rt), undefined);
    t.is(await store.adapter('Grant').find(grantId), undefined);
  });

  test(t('refresh token in grace: found unconsumed, a second consume is a no-op'), async (t) => {
    const { store } = await make(GRACE, t);
    const events: ReuseEvent[] = [];
    store.onReuse((e) => events.push(e));
    const rts = store.adapter('RefreshToken');
    const grantId = uid('g');
    const id = rtId(store, grantId, lineage(), 0);
    await rts.upsert(id, token(grantId), 3600);
    await rts.consume(id);
    const found = await rts.find(id);
    t.is(found?.jti, id);
    t.is(found?.consumed, undefined);
    await rts.consume(id);
    t.deepEqual(events, []);
  });

  test(t('refresh token outside grace: found consumed, a second consume revokes the family'), async (t) => {
    const { store, events, grantId } = await withGrant(STRICT, t);
    const rts = store.adapter('RefreshToken');
    const l = lineage();
    const first = rtId(store, grantId, l, 0);
    const second = rtId(store, grantId, l, 1);
    await rts.upsert(first, token(grantId), 3600);
    await rts.consume(first);
    await rts.upsert(second, token(grantId), 3600);
    t.is((await rts.find(second))?.jti, second);
    t.is(typeof (await rts.find(first))?.consumed, 'number');
    await t.throwsAsync(rts.consume(first), { instanceOf: errors.InvalidGrant });
    t.is(await rts.find(second), undefined, 'the successor is revoked with the family');
    t.is(await store.adapter('Grant').find(grantId), undefined);
    t.is(events.length, 1);
    t.is(events[0]?.grantId, grantId);
  });

  test(t('20 concurrent consumes: exactly one wins (code, strict refresh token); all pass within grace'), async (t) => {
    for (const [model, policy, winners] of [
      ['AuthorizationCode', STRICT, 1],
      ['RefreshToken', STRICT, 1],
      ['RefreshToken', GRACE, 20],
    ] as const) {
      const { store } = await make(policy, t);
      const adapter = store.adapter(model);
      const grantId = uid('g');
      const id = model === 'RefreshToken' ? rtId(store, grantId, lineage(), 0) : uid('x');
      await adapter.upsert(id, token(grantId, { kind: model }), 3600);
      await adapter.find(id);
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => adapter.consume(id)));
      t.is(results.filter((r) => r.status === 'fulfilled').length, winners, `${model} reuse ${policy.reuseIntervalMs}`);
      t.true(
        results.every((r) => r.status === 'fulfilled' || r.reason instanceof errors.InvalidGrant),
        'every loser gets invalid_grant',
      );
    }
  });

  // What a refresh-token grant does inside a request's storage scope (src/storage/prefetch-scope.ts): find, consume,
  // save the successor (the next generation). The Redis store sends the consume with the save as one script.
  const rotate = (store: Store, old: string) =>
    withStorageScope(async () => {
      const parsed = store.refreshTokens.parse(old);
      if (!parsed) throw new Error('not a lineage token');
      store.prefetch({ clientId: 'web', refreshToken: old });
      const rts = store.adapter('RefreshToken');
      const found = await rts.find(old);
      if (!found || found.consumed) throw new errors.InvalidGrant('not found or used');
      await rts.consume(old);
      const next = store.refreshTokens.mint({ ...parsed, gen: parsed.gen + 1 });
      await rts.upsert(next, token(parsed.grantId, { rotations: parsed.gen + 1 }), 3600);
      return next;
    });

  test(
    t('rotations in a request scope: of 20 racing (interval 0) exactly one wins, and the race revokes the family'),
    async (t) => {
      const { store, events, grantId } = await withGrant(STRICT, t);
      const rts = store.adapter('RefreshToken');
      const old = rtId(store, grantId, lineage(), 0);
      await rts.upsert(old, token(grantId), 3600);
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => rotate(store, old)));
      t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
      const unexpected = results.filter((r) => r.status === 'rejected' && !(r.reason instanceof errors.InvalidGrant));
      t.deepEqual(unexpected, [], 'every loser gets invalid_grant');
      // The losers revoked the family: the Grant and the lineage are gone, so the winner's successor is dead too.
      t.is(await rts.find(rtId(store, grantId, store.refreshTokens.parse(old)?.lineage ?? '', 1)), undefined);
      t.is(await store.adapter('Grant').find(grantId), undefined);
      t.true(events.length >= 1);
    },
  );

  test(
    t('rotations in a request scope within grace: all succeed with the same successor; one lineage stays'),
    async (t) => {
      const { store } = await make(GRACE, t);
      const rts = store.adapter('RefreshToken');
      const grantId = uid('g');
      const l = lineage();
      const old = rtId(store, grantId, l, 0);
      await rts.upsert(old, token(grantId), 3600);
      const successors = await Promise.all(Array.from({ length: 5 }, () => rotate(store, old)));
      t.deepEqual(
        new Set(successors),
        new Set([rtId(store, grantId, l, 1)]),
        'every request got the one current token',
      );
      const current = await rts.find(defined(successors[0], 'successors[0]'));
      t.is(current?.consumed, undefined);
      t.is(current?.rotations, 1);
      // A consume whose successor never comes (the request failed in between) is carried out when the scope ends.
      const strict = await make(STRICT, t);
      const other = strict.store.adapter('RefreshToken');
      const g2 = uid('g');
      const id = rtId(strict.store, g2, lineage(), 0);
      await other.upsert(id, token(g2), 3600);
      await withStorageScope(async () => {
        await other.find(id);
        await other.consume(id);
      });
      t.is(typeof (await other.find(id))?.consumed, 'number', 'consumed after the scope');
    },
  );

  test(
    t('the previous generation within the interval gets the current one back; older generations are reuse'),
    async (t) => {
      const { store, events, grantId } = await withGrant(GRACE, t);
      const rts = store.adapter('RefreshToken');
      const l = lineage();
      let id = rtId(store, grantId, l, 0);
      await rts.upsert(id, token(grantId), 3600);
      id = await rotate(store, id);
      id = await rotate(store, id);
      t.is(id, rtId(store, grantId, l, 2));
      t.is((await rts.find(rtId(store, grantId, l, 1)))?.consumed, undefined, 'generation 1 is in its grace period');
      t.is(await rotate(store, rtId(store, grantId, l, 1)), id, 'and rotating it again gives the current token');
      t.is(
        typeof (await rts.find(rtId(store, grantId, l, 0)))?.consumed,
        'number',
        'generation 0 is used, even within the interval',
      );
      t.is(await rts.find(rtId(store, grantId, l, 3)), undefined, 'a generation never issued is unknown');
      t.deepEqual(events, []);
      await t.throwsAsync(rts.consume(rtId(store, grantId, l, 0)), { instanceOf: errors.InvalidGrant });
      t.is(events.length, 1);
      t.is(await rts.find(id), undefined, 'the family is revoked');
    },
  );

  test(t('reuse is detected at any depth: 1,000 rotations later, generation 0 revokes the family'), async (t) => {
    const { store, keys, events, grantId } = await withGrant(STRICT, t);
    const rts = store.adapter('RefreshToken');
    const l = lineage();
    const first = rtId(store, grantId, l, 0);
    let id = first;
    await rts.upsert(id, token(grantId), 3600);
    const sizeAfter = async () => (await keys()).filter((k) => k.includes(grantId)).length;
    const early = await sizeAfter();
    for (let i = 0; i < 1000; i++) id = await rotate(store, id);
    t.is(await sizeAfter(), early, 'the family holds as many keys after 1,000 rotations as after none');
    t.is(typeof (await rts.find(first))?.consumed, 'number');
    await t.throwsAsync(rts.consume(first), { instanceOf: errors.InvalidGrant });
    t.is(events.length, 1);
    t.is(await rts.find(id), undefined, 'the newest token is dead');
    t.is(await store.adapter('Grant').find(grantId), undefined);
  });

  test(t('forged refresh tokens are unknown and revoke nothing'), async (t) => {
    const { store, events, grantId } = await withGrant(STRICT, t);
    const rts = store.adapter('RefreshToken');
    const l = lineage();
    let id = rtId(store, grantId, l, 0);
    await rts.upsert(id, token(grantId), 3600);
    for (let i = 0; i < 3; i++) id = await rotate(store, id);
    const [g, lin, gen, mac] = id.split('.') as [string, string, string, string];
    const otherStore = (await make(STRICT, t)).store;
    const forged = [
      `${g}.${lin}.0.${mac}`, // an older generation with the current MAC
      `${g}.${lin}.${gen}`, // truncated
      `${g}.${lin}.${gen}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`, // one character of the MAC changed
      otherStore.refreshTokens.mint({ grantId, lineage: l, gen: 0 }), // well-formed, another store's key
      `${g}.${lineage()}.0.${mac}`, // this grant, a made-up lineage
      'x'.repeat(43), // the shape of an opaque id
    ];
    for (const f of forged) {
      t.is(await rts.find(f), undefined, f);
      await t.throwsAsync(rts.consume(f), { instanceOf: errors.InvalidGrant });
      await rts.destroy(f);
    }
    t.deepEqual(events, []);
    t.is((await rts.find(id))?.consumed, undefined, 'the real lineage is untouched');
    t.truthy(await store.adapter('Grant').find(grantId));
  });

  test(t('a save never brings back a revoked lineage, and never moves one backwards'), async (t) => {
    const { store, grantId } = await withGrant(STRICT, t);
    const rts = store.adapter('RefreshToken');
    const l = lineage();
    await rts.upsert(rtId(store, grantId, l, 0), token(grantId), 3600);
    const two = await rotate(store, await rotate(store, rtId(store, grantId, l, 0)));
    await rts.upsert(rtId(store, grantId, l, 1), token(grantId, { stale: true }), 3600);
    t.is((await rts.find(two))?.stale, undefined, 'a stale save is ignored');
    t.is(typeof (await rts.find(rtId(store, grantId, l, 1)))?.consumed, 'number');
    await rts.destroy(two);
    t.is(await rts.find(two), undefined, 'revoking a generation ends the lineage');
    await rts.upsert(rtId(store, grantId, l, 3), token(grantId), 3600);
    t.is(await rts.find(rtId(store, grantId, l, 3)), undefined, 'a successor saved after the revocation is not stored');
    await t.throwsAsync(rts.upsert('x'.repeat(43), token(grantId), 3600), { instanceOf: TypeError });
  });

  test(t('ReplayDetection: of 20 concurrent finds of one id exactly one finds nothing (the claim)'), async (t) => {
    const { store } = await make(STRICT, t);
    const replay = store.adapter('ReplayDetection');
    const id = uid('jti');
    const results = await Promise.all(Array.from({ length: 20 }, () => replay.find(id)));
    t.is(results.filter((r) => r === undefined).length, 1);
    await replay.upsert(id, { jti: id, iss: 'web', kind: 'ReplayDetection' }, 60);
    t.truthy(await replay.find(id), 'the save keeps it claimed');
  });

  test(
    t('prefetch never changes what the reads answer, and a write in the request is seen by its next read'),
    async (t) => {
      const { store } = await make(STRICT, t);
      const account = {
        id: uid('acct'),
        username: uid('u'),
        passwordHash: 'h',
        roles: ['r'],
        disabled: false,
        createdAt: 1,
        updatedAt: 1,
      };
      await store.accounts.create(account);
      const rts = store.adapter('RefreshToken');
      const grants = store.adapter('Grant');
      const grantId = uid('g');
      const grant = { kind: 'Grant', accountId: account.id, clientId: 'web' };
      await grants.upsert(grantId, grant, 3600);
      const clientId = uid('client');
      await store.clients.save({
        client_id: clientId,
        client_secret: 'x'.repeat(43),
        redirect_uris: ['https://a.example/cb'],
      });
      const sessions = store.adapter('Session');
      const session = {
        uid: uid('su'),
        accountId: account.id,
        loginTs: 1,
        authorizations: { [clientId]: { sid: 's', grantId } },
      };
      await sessions.upsert(uid('sess'), session, 3600);
      const id = rtId(store, grantId, lineage(), 0);
      await rts.upsert(
        id,
        token(grantId, { accountId: account.id, clientId, expiresWithSession: true, sessionUid: session.uid }),
        3600,
      );
      const plain = {
        rt: await rts.find(id),
        grant: await grants.find(grantId),
        account: await store.accounts.findById(account.id),
        client: await store.adapter('Client').find(clientId),
        session: await sessions.findByUid(session.uid),
      };
      t.truthy(plain.client);
      t.truthy(plain.session);
      t.is(plain.rt?.jti, id);
      await withStorageScope(async () => {
        store.prefetch({ clientId, refreshToken: id });
        store.prefetch({ refreshToken: uid('unknown') });
        t.deepEqual(await store.adapter('Client').find(clientId), plain.client);
        t.deepEqual(await sessions.findByUid(session.uid), plain.session);
        t.deepEqual(await rts.find(id), plain.rt);
        t.deepEqual(await grants.find(grantId), plain.grant);
        t.deepEqual(await store.accounts.findById(account.id), plain.account);
        t.deepEqual(await store.accounts.findById(account.id), plain.account, 'asked twice');
        await store.accounts.update({ ...account, disabled: true });
        t.true((await store.accounts.findById(account.id))?.disabled, 'an update in the request is seen');
        await rts.consume(id);
        t.is(typeof (await rts.find(id))?.consumed, 'number', 'a consume in the request is seen');
      });
      await withStorageScope(async () => {
        store.prefetch({ refreshToken: id });
        await rts.destroy(id);
        t.is(await rts.find(id), undefined, 'a destroy in the request is seen');
      });
    },
  );

  test(t('revokeByGrantId removes only that model of the grant'), async (t) => {
    const { store } = await make(STRICT, t);
    const grantId = uid('g');
    const other = uid('g');
    const at = uid('at');
    const rt = rtId(store, grantId, lineage(), 0);
    const otherAt = uid('at');
    await store.adapter('AccessToken').upsert(at, token(grantId, { kind: 'AccessToken' }), 60);
    await store.adapter('RefreshToken').upsert(rt, token(grantId), 60);
    await store.adapter('AccessToken').upsert(otherAt, token(other, { kind: 'AccessToken' }), 60);
    await store.adapter('AccessToken').revokeByGrantId(grantId);
    t.is(await store.adapter('AccessToken').find(at), undefined);
    t.truthy(await store.adapter('RefreshToken').find(rt));
    t.truthy(await store.adapter('AccessToken').find(otherAt));
    await store.adapter('RefreshToken').revokeByGrantId(grantId);
    t.is(await store.adapter('RefreshToken').find(rt), undefined);
  });

  test(t('destroying a Grant removes every member'), async (t) => {
    const { store, keys } = await make(STRICT, t);
    const grantId = uid('g');
    await store.adapter('Grant').upsert(grantId, { kind: 'Grant', accountId: 'a', clientId: 'web' }, 3600);
    const ids = [uid('at'), rtId(store, grantId, lineage(), 0), uid('c')];
    await store.adapter('AccessToken').upsert(defined(ids[0], 'ids[0]'), token(grantId, { kind: 'AccessToken' }), 60);
    await store.adapter('RefreshToken').upsert(defined(ids[1], 'ids[1]'), token(grantId), 60);
    await store
      .adapter('AuthorizationCode')
      .upsert(defined(ids[2], 'ids[2]'), token(grantId, { kind: 'AuthorizationCode' }), 60);
    await store.adapter('Grant').destroy(grantId);
    t.is(await store.adapter('AccessToken').find(defined(ids[0], 'ids[0]')), undefined);
    t.is(await store.adapter('RefreshToken').find(defined(ids[1], 'ids[1]')), undefined);
    t.is(await store.adapter('AuthorizationCode').find(defined(ids[2], 'ids[2]')), undefined);
    t.deepEqual(
      (await keys()).filter((k) => k.includes(grantId) || ids.some((id) => k.includes(id))),
      [],
      'no key of the family is left',
    );
  });

  test(t('no key without a TTL except clients, accounts and the refresh-token key'), async (t) => {
    const { store, keysWithoutTtl, durable } = await make(GRACE, t);
    const grantId = uid('g');
    const sid = uid('s');
    await store.adapter('Session').upsert(sid, { uid: uid('u'), accountId: 'a' }, 60);
    await store.adapter('Interaction').upsert(uid('i'), { kind: 'Interaction' }, 60);
    await store.adapter('Grant').upsert(grantId, { kind: 'Grant', accountId: 'a', clientId: 'web' }, 3600);
    const rt = rtId(store, grantId, lineage(), 0);
    await store.adapter('RefreshToken').upsert(rt, token(grantId), 3600);
    await store.adapter('RefreshToken').consume(rt);
    await store.adapter('AuthorizationCode').upsert(uid('c'), token(grantId, { kind: 'AuthorizationCode' }), 60);
    await store.adapter('DeviceCode').upsert(uid('d'), { userCode: uid('UC'), kind: 'DeviceCode' }, 60);
    await store.adapter('ReplayDetection').find(uid('r'));
    await store.adapter('ReplayDetection').upsert(uid('r'), { iat: 1 }, 60);
    await store.throttle.hit(uid('user:'), 60);
    await store.throttle.lock(uid('user:'), 60);
    await store.logoutQueue.push(
      { id: uid('job'), clientId: 'web', sub: 'a', attempts: 0, deadline: Date.now() + 60_000 },
      Date.now() + 30_000,
    );
    await store.clients.save({
      client_id: uid('client'),
      client_secret: 'x',
      redirect_uris: ['https://rp.example/cb'],
    });
    await store.accounts.create({
      id: uid('acct'),
      username: uid('user'),
      passwordHash: 'h',
      roles: [],
      disabled: false,
      createdAt: 1,
      updatedAt: 1,
    });
    const persistent = await keysWithoutTtl();
    t.true(persistent.length > 0);
    t.deepEqual(
      persistent.filter((k) => !durable(k)),
      [],
    );
  });

  test(t('accounts: create, unique username, find, update, list, remove'), async (t) => {
    const { store } = await make(STRICT, t);
    const id = uid('acct');
    const username = uid('Alice');
    const account = {
      id,
      username,
      passwordHash: 'h',
      roles: ['user'],
      disabled: false,
      createdAt: 1,
      updatedAt: 1,
      email: 'a@example.com',
    };
    await store.accounts.create(account);
    await t.throwsAsync(store.accounts.create({ ...account, id: uid('acct') }), { code: 'STORAGE_CONFLICT' });
    t.deepEqual(await store.accounts.findById(id), account);
    t.deepEqual(await store.accounts.findByUsername(username.toUpperCase()), account);
    await store.accounts.update({ ...account, disabled: true });
    t.true((await store.accounts.findById(id))?.disabled);
    t.true((await store.accounts.list()).some((a) => a.id === id));
    t.true(await store.accounts.remove(id));
    t.false(await store.accounts.remove(id));
    t.is(await store.accounts.findByUsername(username), undefined);
    t.is(await store.accounts.findById(id), undefined);
  });

  test(t('clients: saved metadata is what the Client adapter finds'), async (t) => {
    const { store } = await make(STRICT, t);
    const metadata = {
      client_id: uid('client'),
      client_secret: 'secret',
      redirect_uris: ['https://rp.example/cb'],
      grant_types: ['authorization_code'],
    };
    await store.clients.save(metadata);
    t.deepEqual(await store.adapter('Client').find(metadata.client_id), metadata);
    t.true((await store.clients.list()).some((c) => c.client_id === metadata.client_id));
    t.true(await store.clients.remove(metadata.client_id));
    t.is(await store.adapter('Client').find(metadata.client_id), undefined);
    t.false((await store.clients.list()).some((c) => c.client_id === metadata.client_id));
  });

  test(t('throttle: counts in a window, locks with a TTL'), async (t) => {
    const { store } = await make(STRICT, t);
    const key = uid('user:');
    t.is(await store.throttle.hit(key, 1), 1);
    t.is(await store.throttle.hit(key, 1), 2);
    t.is(await store.throttle.count(key), 2);
    await sleep(1100);
    t.is(await store.throttle.count(key), 0, 'the window ended');
    await store.throttle.hit(key, 60);
    await store.throttle.reset(key);
    t.is(await store.throttle.count(key), 0);
    t.is(await store.throttle.ttl(key), 0);
    const other = uid('user:');
    await store.throttle.hit(other, 60);
    await store.throttle.hit(other, 60);
    await store.throttle.release(other);
    t.is(await store.throttle.count(other), 1, 'release takes one hit back');
    const never = uid('user:');
    await store.throttle.release(never);
    t.is(await store.throttle.count(never), 0, 'release never creates a counter');
    await store.throttle.lock(key, 30);
    const left = await store.throttle.ttl(key);
    t.true(left > 0 && left <= 30);
    await store.ping();
  });

  test(
    t('logout queue: due jobs are claimed once per lease, retried, removed; past their deadline they are dropped'),
    async (t) => {
      const { store } = await make(STRICT, t);
      const q = store.logoutQueue;
      const now = Date.now();
      const job = { id: uid('job'), clientId: 'web', sub: 'acct-1', sid: 'sid-1', attempts: 0, deadline: now + 60_000 };
      const later = { ...job, id: uid('job') };
      const stale = { ...job, id: uid('job'), deadline: now - 1 };
      await q.push(job, now);
      await q.push(later, now + 30_000);
      await q.push(stale, now);
      t.deepEqual(await q.claim(now, 10, 200), [job], 'only the due job within its deadline');
      t.deepEqual(await q.claim(now + 100, 10, 200), [], 'hidden while leased');
      const again = await q.claim(now + 300, 10, 200);
      t.deepEqual(again, [job], 'back after the lease: its deliverer did not finish');
      await q.push({ ...job, attempts: 1 }, now + 1000);
      t.deepEqual(await q.claim(now + 500, 10, 200), []);
      t.deepEqual(await q.claim(now + 1000, 10, 200), [{ ...job, attempts: 1 }], 'a retry replaces the job');
      await q.remove(job.id);
      t.deepEqual(await q.claim(now + 5000, 10, 200), []);
      t.deepEqual(await q.claim(now + 30_000, 10, 200), [later]);
    },
  );
}

/** The account center's records (src/storage/account-records.ts), on every store. */
export function accountRecordsSuite(test: TestFn, name: string, make: MakeFixture): void {
  const t = (title: string) => `${name}: ${title}`;

  test(t('session index: touch, list, remove; the index has a TTL'), async (t) => {
    const { store, keysWithoutTtl, durable } = await make(STRICT, t);
    const account = uid('acct');
    const first = { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0', ip: '192.0.2.1', lastSeenAt: 1000 };
    await store.sessionIndex.touch(account, 'u1', first, 60);
    await store.sessionIndex.touch(account, 'u2', { ...first, ip: '192.0.2.2' }, 60);
    await store.sessionIndex.touch(account, 'u1', { ...first, lastSeenAt: 2000 }, 60);
    t.deepEqual(await store.sessionIndex.list(account), {
      u1: { ...first, lastSeenAt: 2000 },
      u2: { ...first, ip: '192.0.2.2' },
    });
    t.deepEqual(await store.sessionIndex.list(uid('other')), {}, 'another account sees nothing');
    await store.sessionIndex.remove(account, ['u1', 'unknown']);
    t.deepEqual(Object.keys(await store.sessionIndex.list(account)), ['u2']);
    t.deepEqual(
      (await keysWithoutTtl()).filter((k) => !durable(k)),
      [],
    );
  });

  test(t('session index expires with its TTL'), async (t) => {
    const { store } = await make(STRICT, t);
    const account = uid('acct');
    await store.sessionIndex.touch(account, 'u1', { userAgent: '', ip: '192.0.2.1', lastSeenAt: 1 }, 1);
    await sleep(1100);
    t.deepEqual(await store.sessionIndex.list(account), {});
  });

  test(t('grant index: add, list, remove; entries and the index expire with their grants'), async (t) => {
    const { store, keysWithoutTtl, durable } = await make(STRICT, t);
    const account = uid('acct');
    const now = Date.now();
    await store.grantIndex.add(account, 'g1', now + 60_000);
    await store.grantIndex.add(account, 'g2', now + 1_000);
    await store.grantIndex.add(account, 'g1', now + 120_000);
    t.deepEqual(await store.grantIndex.list(account), { g1: now + 120_000, g2: now + 1_000 });
    t.deepEqual(await store.grantIndex.list(uid('other')), {}, 'another account sees nothing');
    t.deepEqual(
      (await keysWithoutTtl()).filter((k) => !durable(k)),
      [],
    );
    await sleep(1100);
    t.deepEqual(await store.grantIndex.list(account), { g1: now + 120_000 }, 'an expired grant is no longer listed');
    await store.grantIndex.remove(account, ['g1', 'unknown']);
    t.deepEqual(await store.grantIndex.list(account), {});
    // A later, shorter grant does not cut the index short.
    const other = uid('acct');
    const long = Date.now() + 60_000;
    await store.grantIndex.add(other, 'long', long);
    await store.grantIndex.add(other, 'short', Date.now() + 300);
    await sleep(700);
    t.deepEqual(await store.grantIndex.list(other), { long });
  });

  test(t('email index: case-folded, first claim wins, release only by its owner'), async (t) => {
    const { store } = await make(STRICT, t);
    const email = `${uid('Mixed')}@Example.com`;
    const [a, b] = [uid('acct'), uid('acct')];
    t.true(await store.emailIndex.claim(email, a));
    t.true(await store.emailIndex.claim(email.toLowerCase(), a), 'claiming again is fine');
    t.false(await store.emailIndex.claim(email.toUpperCase(), b), 'another account cannot take it');
    t.is(await store.emailIndex.find(` ${email.toUpperCase()} `), a);
    await store.emailIndex.release(email, b);
    t.is(await store.emailIndex.find(email), a, 'only the owner releases');
    await store.emailIndex.release(email, a);
    t.is(await store.emailIndex.find(email), undefined);
    const claims = await Promise.all(
      Array.from({ length: 10 }, () => uid('acct')).map(
        async (id) => [id, await store.emailIndex.claim(email, id)] as const,
      ),
    );
    const winners = claims.filter(([, won]) => won);
    t.is(winners.length, 1, 'of concurrent claims exactly one wins');
    t.is(await store.emailIndex.find(email), winners[0]?.[0]);
  });

  test(t('single-use tokens: 20 concurrent consumes, exactly one gets the record; TTL set; expiry'), async (t) => {
    const { store, keysWithoutTtl, durable } = await make(STRICT, t);
    const hash = uid('h');
    const record = { purpose: 'reset', accountId: uid('acct'), data: { email: 'a@example.com' } };
    await store.oneTimeTokens.put(hash, record, 60);
    t.deepEqual(
      (await keysWithoutTtl()).filter((k) => !durable(k)),
      [],
    );
    const results = await Promise.all(Array.from({ length: 20 }, () => store.oneTimeTokens.consume(hash)));
    t.deepEqual(
      results.filter((r) => r !== undefined),
      [record],
    );
    t.is(await store.oneTimeTokens.consume(hash), undefined, 'consumed for good');
    t.is(await store.oneTimeTokens.consume(uid('unknown')), undefined);
    const short = uid('h');
    await store.oneTimeTokens.put(short, record, 1);
    await sleep(1100);
    t.is(await store.oneTimeTokens.consume(short), undefined, 'expired');
  });
}
