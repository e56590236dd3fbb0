/**
 * Unused dynamically registered clients expire (`DYNAMIC_CLIENT_IDLE_DAYS`, 0 = never).
 *
 * Rules:
 * - Only clients created by registration (they carry `client_id_issued_at`); clients of the configuration file
 *   and of the CLI never expire.
 * - "Used" means the token endpoint issued it tokens. The last use is a store record per client
 *   (`ClientUse`, with a TTL of the idle period, at least MIN_KEEP_DAYS so that turning the setting on later
 *   still knows recent use); a client is idle when its last use, or its registration when it was never used, is
 *   older than the idle period.
 * - The sweep runs at start-up and every hour on every instance (removing an already removed client is harmless);
 *   each removal is an audit line `client.expired`.
 */
import type Provider from 'oidc-provider';
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/types.ts';
import type { Store } from '../storage/types.ts';
import { clientMetadata } from './client-metadata.ts';

const USE_MODEL = 'ClientUse';
const DAY_MS = 86_400_000;
const MIN_KEEP_DAYS = 400;
const SWEEP_MS = 3600_000;

export interface DynamicClientExpiry {
  /** Removes the idle dynamic clients as of `now` (unix ms); returns their ids. */
  sweep(now?: number): Promise<string[]>;
  stop(): void;
}

export function dynamicClientExpiry(
  provider: Provider,
  store: Store,
  config: Pick<Config, 'clientRegistration'>,
  audit: Audit,
): DynamicClientExpiry {
  const idleDays = config.clientRegistration.idleDays;
  const keepSeconds = Math.max(idleDays, MIN_KEEP_DAYS) * 86_400;
  const uses = store.adapter(USE_MODEL);

  provider.on('grant.success', (ctx) => {
    const client = ctx.oidc.client;
    if (!client || clientMetadata(client).client_id_issued_at === undefined) return;
    void uses.upsert(client.clientId, { at: Date.now() }, keepSeconds).catch(() => undefined);
  });

  async function sweep(now = Date.now()): Promise<string[]> {
    if (idleDays === 0) return [];
    const removed: string[] = [];
    for (const client of await store.clients.list()) {
      const issuedAt = client.client_id_issued_at;
      if (typeof issuedAt !== 'number') continue;
      const use = (await uses.find(client.client_id)) as { at?: number } | undefined;
      const last = use?.at ?? issuedAt * 1000;
      if (last + idleDays * DAY_MS > now) continue;
      if (await store.clients.remove(client.client_id)) {
        removed.push(client.client_id);
        audit('client.expired', { clientId: client.client_id, reason: `unused for ${idleDays} days` });
      }
    }
    return removed;
  }

  const run = () => void sweep().catch(() => undefined);
  const first = idleDays > 0 ? setTimeout(run, 0).unref() : undefined;
  const timer = idleDays > 0 ? setInterval(run, SWEEP_MS).unref() : undefined;
  return {
    sweep,
    stop() {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
