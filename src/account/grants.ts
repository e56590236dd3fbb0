/**
 * Connected applications: the grants an account gave, one entry per application, and "Remove access".
 *
 * Rules:
 * - Every Grant written through the provider's adapter is first recorded in the account's grant index
 *   (`withGrantIndex`), with the grant's own expiry: the index is written before the grant, so a grant can never
 *   exist without its entry (a failed grant write leaves an entry that the next listing prunes).
 * - Listing checks each entry against the Grant records: one that ended (logout, revocation, expiry) or that
 *   belongs to another account is dropped from the index and never shown.
 * - What an application may do is said in the consent page's words (src/interactions/consent-details.ts), from
 *   the grant itself: OIDC scopes, claims asked for with the `claims` parameter, resource-server scopes.
 * - Removing access destroys every grant of that application for the account, which revokes every token of
 *   them, offline ones included. Gatehouse's own account client is not listed: it is not an application the user
 *   connected, and its grant holds nothing but `openid`.
 */
import type Provider from 'oidc-provider';
import type { Adapter, Grant } from 'oidc-provider';
import type { Audit } from '../audit/audit.ts';
import { type ConsentItem, consentItems } from '../interactions/consent-details.ts';
import type { GrantIndexStore } from '../storage/account-records.ts';
import type { Store } from '../storage/types.ts';
import { ACCOUNT_CLIENT_ID } from './routes.ts';

interface ConnectedApp {
  readonly clientId: string;
  readonly clientName: string;
  /** What it may do, one line each (catalogue keys and their values). */
  readonly items: readonly ConsentItem[];
  /** When access was first given, in seconds since the epoch. */
  readonly since: number | undefined;
  /** Whether it keeps access while the user is away (`offline_access`). */
  readonly offline: boolean;
  readonly grantIds: readonly string[];
}

export interface GrantDeps {
  provider: Provider;
  index: GrantIndexStore;
  audit: Audit;
}

/**
 * The store with its Grant adapter recording every grant in the account's grant index. `fallbackTtlSeconds`
 * is used for a grant written without an expiry (the provider configures one: src/provider/ttl.ts).
 */
export function withGrantIndex<S extends Store>(inner: S, fallbackTtlSeconds: number): S {
  const wrapper = Object.create(inner) as S;
  let grants: Adapter | undefined;
  Object.defineProperty(wrapper, 'adapter', {
    value: (model: string): Adapter => {
      if (model !== 'Grant') return inner.adapter(model);
      if (grants) return grants;
      const adapter = inner.adapter(model);
      const upsert: Adapter['upsert'] = async (id, payload, expiresIn) => {
        if (typeof payload.accountId === 'string')
          await inner.grantIndex.add(payload.accountId, id, Date.now() + (expiresIn || fallbackTtlSeconds) * 1000);
        return adapter.upsert(id, payload, expiresIn);
      };
      // Every other method is the adapter's own, called on it (an implementation may keep #private state).
      grants = new Proxy(adapter, {
        get(target, name) {
          if (name === 'upsert') return upsert;
          const value: unknown = Reflect.get(target, name);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      return grants;
    },
  });
  return wrapper;
}

/** The live grants of `accountId` (ended ones are pruned from the index). */
async function liveGrants(deps: GrantDeps, accountId: string): Promise<Grant[]> {
  const ids = Object.keys(await deps.index.list(accountId));
  const found = await Promise.all(
    ids.map(async (id) => [id, (await deps.provider.Grant.find(id)) as Grant | undefined] as const),
  );
  const gone = found.filter(([, g]) => g?.accountId !== accountId).map(([id]) => id);
  if (gone.length > 0) await deps.index.remove(accountId, gone);
  return found.map(([, g]) => g).filter((g): g is Grant => g?.accountId === accountId);
}

/** The applications `accountId` gave access to, one entry per client, most recent first. */
export async function listConnectedApps(deps: GrantDeps, accountId: string): Promise<ConnectedApp[]> {
  const byClient = new Map<string, Grant[]>();
  for (const grant of await liveGrants(deps, accountId)) {
    const clientId = grant.clientId;
    if (!clientId || clientId === ACCOUNT_CLIENT_ID) continue;
    byClient.set(clientId, [...(byClient.get(clientId) ?? []), grant]);
  }
  const apps: ConnectedApp[] = [];
  for (const [clientId, grants] of byClient) {
    const scopes = new Set(grants.flatMap((g) => g.getOIDCScope().split(' ').filter(Boolean)));
    const claims = new Set(grants.flatMap((g) => g.getOIDCClaims()));
    const resources: Record<string, string[]> = {};
    for (const g of grants) {
      for (const [indicator, granted] of Object.entries(g.resources ?? {})) {
        resources[indicator] = [
          ...new Set([...(resources[indicator] ?? []), ...String(granted).split(' ').filter(Boolean)]),
        ];
      }
    }
    const client = await deps.provider.Client.find(clientId);
    const issued = grants.map((g) => g.iat).filter((n): n is number => typeof n === 'number');
    apps.push({
      clientId,
      clientName: client?.clientName ?? clientId,
      items: consentItems({
        missingOIDCScope: [...scopes],
        missingOIDCClaims: [...claims],
        missingResourceScopes: resources,
      }),
      since: issued.length > 0 ? Math.min(...issued) : undefined,
      offline: scopes.has('offline_access'),
      grantIds: grants.map((g) => g.jti),
    });
  }
  return apps.sort((a, b) => (b.since ?? 0) - (a.since ?? 0));
}

/**
 * Removes every grant `accountId` gave `clientId`, with all their tokens. Returns how many grants ended (0: the
 * account had given that application nothing).
 */
export async function removeAccess(deps: GrantDeps, accountId: string, clientId: string): Promise<number> {
  const grants = (await liveGrants(deps, accountId)).filter((g) => g.clientId === clientId);
  for (const grant of grants) {
    await grant.destroy();
    deps.audit('grant.revoked', { clientId, sub: accountId, reason: 'access_removed' });
  }
  await deps.index.remove(
    accountId,
    grants.map((g) => g.jti),
  );
  if (grants.length > 0) deps.audit('account.access_removed', { clientId, sub: accountId });
  return grants.length;
}
