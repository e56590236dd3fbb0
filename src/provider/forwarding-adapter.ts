/**
 * Wrapping a storage adapter for one model: every call goes to the store's adapter except the ones a wrapper
 * replaces (the DeviceCode adapter keeps expired codes a while, the Client adapter rewrites what it stores).
 * Methods are forwarded one by one, not spread, because a store's adapter may keep them on its prototype.
 */
import type { Adapter } from 'oidc-provider';

export function forwardingAdapter(adapter: Adapter, own: Partial<Adapter>): Adapter {
  return {
    upsert: (id, payload, expiresIn) => adapter.upsert(id, payload, expiresIn),
    find: (id) => adapter.find(id),
    findByUserCode: (code) => adapter.findByUserCode(code),
    findByUid: (uid) => adapter.findByUid(uid),
    consume: (id) => adapter.consume(id),
    destroy: (id) => adapter.destroy(id),
    revokeByGrantId: (grantId) => adapter.revokeByGrantId(grantId),
    ...own,
  };
}
