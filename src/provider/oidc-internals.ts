/**
 * Refresh-token values are minted by the store's codec (src/storage/refresh-lineage.ts), so that a token names its
 * lineage and generation: a code exchange (or any grant that issues a first refresh token) starts a lineage at
 * generation 0; a rotation continues the rotated token's lineage at the next generation. Presenting the previous
 * generation within the reuse interval therefore mints the very token that is already current — one lineage, no
 * fork.
 *
 * Relies on oidc-provider (checked by tests/provider/internals.test.ts against the pinned version):
 * - a token's value is its `jti`, set by `generateTokenId()` on the model's prototype when it is first saved;
 * - the refresh_token grant consumes the presented token, records it as the `RotatedRefreshToken` entity of the
 *   request (`Provider.ctx.oidc.entities`) and then saves its successor, which carries the same `grantId`.
 */
import Provider from 'oidc-provider';
import { RefreshTokenCodec } from '../storage/refresh-lineage.ts';
import type { Store } from '../storage/types.ts';

interface Minted {
  grantId?: string;
}

export function mintRefreshTokenIds(provider: Provider, store: Store): void {
  const codec = store.refreshTokens;
  const RefreshToken = provider.RefreshToken as unknown as { prototype: { generateTokenId(this: Minted): string } };
  RefreshToken.prototype.generateTokenId = function generateTokenId(this: Minted): string {
    const grantId = this.grantId;
    if (typeof grantId !== 'string') throw new TypeError('a refresh token is always issued for a grant');
    const rotated = (Provider.ctx?.oidc.entities as { RotatedRefreshToken?: { jti?: string; grantId?: string } } | undefined)?.RotatedRefreshToken;
    if (rotated?.grantId === grantId && typeof rotated.jti === 'string') {
      const previous = codec.parse(rotated.jti);
      if (previous) return codec.mint({ ...previous, gen: previous.gen + 1 });
      // A token of the earlier one-record-per-token format continues in a lineage derived from its id.
      return codec.mint({ grantId, lineage: codec.legacyLineage(rotated.jti), gen: 0 });
    }
    return codec.mint({ grantId, lineage: RefreshTokenCodec.newLineage(), gen: 0 });
  };
}
