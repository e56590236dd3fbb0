/**
 * A client's registered metadata, snake_cased, computed once per oidc-provider `Client` instance.
 *
 * `Client#metadata()` rebuilds the object on every call (every property through snake_case and a lookup in the
 * recognised metadata), and a token request asks for it several times. A `Client` instance never changes: the
 * library makes a new one when a stored client's record changes. So the first answer per instance is the answer,
 * shared read-only by every caller.
 */
interface WithMetadata {
  metadata(): Record<string, unknown>;
}

const memo = new WeakMap<WithMetadata, Readonly<Record<string, unknown>>>();
const NONE: Readonly<Record<string, unknown>> = Object.freeze({});

/** The metadata of `client`; none (an empty object) when there is no client. */
export function clientMetadata(client: WithMetadata | undefined): Readonly<Record<string, unknown>> {
  if (client === undefined) return NONE;
  let metadata = memo.get(client);
  if (metadata === undefined) {
    metadata = Object.freeze(client.metadata());
    memo.set(client, metadata);
  }
  return metadata;
}
