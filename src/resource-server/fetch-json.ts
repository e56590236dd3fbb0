/**
 * The one way the resource server talks to the authorization server: a bounded JSON fetch.
 *
 * Rules: a timeout on every call; no redirects followed (metadata and keys are read from exactly the URL the
 * issuer names); at most 512 KiB of body; anything unexpected (network error, timeout, non-2xx unless the caller
 * accepts it, non-JSON) becomes AuthorizationServerUnavailable, so callers answer 503, never 500.
 */
import { AuthorizationServerUnavailable } from './bearer-error.ts';

const MAX_BYTES = 512 * 1024;

interface FetchJsonOptions {
  timeoutMs: number;
  init?: RequestInit;
}

export async function fetchJson(
  url: string,
  { timeoutMs, init = {} }: FetchJsonOptions,
): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const reason = (err as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable';
    throw new AuthorizationServerUnavailable(`${new URL(url).origin}${new URL(url).pathname} ${reason}`);
  }
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_BYTES) {
    await res.body?.cancel();
    throw new AuthorizationServerUnavailable(`${new URL(url).pathname} answered a body that is too large`);
  }
  if (res.status < 200 || res.status >= 300) {
    await res.body?.cancel();
    throw new AuthorizationServerUnavailable(`${new URL(url).pathname} answered ${res.status}`);
  }
  let text: string;
  try {
    text = await res.text();
  } catch {
    throw new AuthorizationServerUnavailable(`${new URL(url).pathname} body could not be read`);
  }
  if (text.length > MAX_BYTES)
    throw new AuthorizationServerUnavailable(`${new URL(url).pathname} answered a body that is too large`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AuthorizationServerUnavailable(`${new URL(url).pathname} did not answer JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuthorizationServerUnavailable(`${new URL(url).pathname} did not answer a JSON object`);
  }
  return value as Record<string, unknown>;
}
