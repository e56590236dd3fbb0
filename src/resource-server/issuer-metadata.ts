/**
 * Discovers the authorization server from its issuer URL alone (OpenID Connect Discovery 1.0 section 4).
 *
 * Rules:
 * - The document's `issuer` must equal the configured issuer exactly (section 4.3), else nothing is trusted.
 * - Fetched lazily on first use and then kept: the API may start before Gatehouse does.
 * - One fetch in flight at a time; after a failure, further callers fail fast for `retryAfterMs` instead of each
 *   starting a fetch, so an outage does not turn every API request into a call to the authorization server.
 */
import { AuthorizationServerUnavailable } from './bearer-error.ts';
import { fetchJson } from './fetch-json.ts';

interface IssuerMetadata {
  issuer: string;
  jwks_uri: string;
  introspection_endpoint?: string;
}

interface MetadataSourceOptions {
  issuer: string;
  timeoutMs?: number;
  retryAfterMs?: number;
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

export function createMetadataSource({
  issuer,
  timeoutMs = 5000,
  retryAfterMs = 1000,
}: MetadataSourceOptions): () => Promise<IssuerMetadata> {
  let known: IssuerMetadata | undefined;
  let inFlight: Promise<IssuerMetadata> | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;
  let lastFailure = '';

  async function load(): Promise<IssuerMetadata> {
    const doc = await fetchJson(discoveryUrl(issuer), { timeoutMs, init: { headers: { accept: 'application/json' } } });
    if (doc.issuer !== issuer) throw new AuthorizationServerUnavailable('discovery document names a different issuer');
    if (typeof doc.jwks_uri !== 'string' || !URL.canParse(doc.jwks_uri))
      throw new AuthorizationServerUnavailable('discovery document has no jwks_uri');
    const introspection = typeof doc.introspection_endpoint === 'string' ? doc.introspection_endpoint : undefined;
    return { issuer, jwks_uri: doc.jwks_uri, ...(introspection ? { introspection_endpoint: introspection } : {}) };
  }

  return async () => {
    if (known) return known;
    if (performance.now() - failedAt < retryAfterMs) throw new AuthorizationServerUnavailable(lastFailure);
    inFlight ??= load()
      .then((m) => {
        known = m;
        return m;
      })
      .catch((err: Error) => {
        failedAt = performance.now();
        lastFailure = err.message;
        throw err;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}
