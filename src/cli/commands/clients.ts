/**
 * `clients add --file client.json | list | show <client_id> | update <client_id> --file client.json | remove <client_id>`.
 *
 * Rules: metadata is validated by oidc-provider's own client schema (plus Gatehouse's own properties:
 * src/provider/client-access.ts) before it is stored; a confidential client without a secret gets a generated 256-bit one,
 * printed once; a supplied secret must look like one (>= 43 characters, >= 16 distinct) — weak secrets are refused.
 * `show` prints the stored metadata as JSON without the secret, so its output can be edited and given to `update`;
 * `update` replaces the metadata and keeps the stored secret unless the file brings a new one.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import { createInitialAccessToken } from '../../provider/registration.ts';
import type { Store } from '../../storage/types.ts';
import { CliError, type Io, onlyFlags, type ParsedArgs, single } from '../io.ts';

export const CLIENTS_USAGE = `clients add --file client.json
clients list
clients show <client_id>
clients update <client_id> --file client.json
clients remove <client_id>
clients token create --ttl <seconds> [--uses <n>]`;

export const MIN_SECRET_LENGTH = 43;

export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function assertStrongSecret(secret: unknown): void {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH || new Set(secret).size < 16) {
    throw new CliError(
      `client_secret is too weak: use at least ${MIN_SECRET_LENGTH} random characters (256 bits), or omit it to have one generated`,
      2,
    );
  }
}

function readMetadata(path: string): ClientMetadata {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON`, 2);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CliError(`${path} must hold one JSON object`, 2);
  return value as ClientMetadata;
}

function clientId(args: ParsedArgs): string {
  const [, id, extra] = args.positionals;
  if (!id) throw new CliError('missing <client_id>', 2);
  if (extra) throw new CliError(`unexpected argument ${extra}`, 2);
  return id;
}

async function find(store: Store, id: string): Promise<ClientMetadata> {
  const found = (await store.clients.list()).find((c) => c.client_id === id);
  if (!found) throw new CliError(`no client ${id} (clients from the configuration file are not in the store)`);
  return found;
}

/**
 * Sets the secret of `metadata` before validation: a supplied one must be strong; a client that needs one and
 * has none gets `kept` (update) or a generated one, returned so it can be printed once.
 */
function settleSecret(metadata: ClientMetadata, provider: Provider, kept: unknown): string | undefined {
  if (metadata.client_secret !== undefined) {
    assertStrongSecret(metadata.client_secret);
    return undefined;
  }
  if (!(provider.Client as unknown as { needsSecret(m: ClientMetadata): boolean }).needsSecret(metadata))
    return undefined;
  if (typeof kept === 'string') {
    metadata.client_secret = kept;
    return undefined;
  }
  metadata.client_secret = generateClientSecret();
  return metadata.client_secret;
}

async function validate(provider: Provider, metadata: ClientMetadata): Promise<void> {
  try {
    await provider.Client.validate(metadata);
  } catch (err) {
    const e = err as { error?: string; error_description?: string; message?: string };
    throw new CliError(`invalid client metadata: ${e.error_description ?? e.message ?? 'rejected'}`, 2);
  }
}

export async function clients(args: ParsedArgs, store: Store, provider: Provider, io: Io): Promise<void> {
  const action = args.positionals[0];
  switch (action) {
    case 'add': {
      onlyFlags(args, ['file']);
      const file = single(args, 'file');
      if (!file) throw new CliError('clients add needs --file client.json', 2);
      const metadata = readMetadata(file);
      if (typeof metadata.client_id !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(metadata.client_id)) {
        throw new CliError('client_id must be 1-128 characters of letters, digits and . _ : -', 2);
      }
      const generated = settleSecret(metadata, provider, undefined);
      await validate(provider, metadata);
      const existing = await store.clients.list();
      if (existing.some((c) => c.client_id === metadata.client_id))
        throw new CliError(`client ${metadata.client_id} exists already`, 2);
      await store.clients.save(metadata);
      io.out(`created client ${metadata.client_id}`);
      if (generated) io.out(`client_secret: ${generated}\n(shown once: store it now)`);
      return;
    }
    case 'list': {
      onlyFlags(args, []);
      const all = await store.clients.list();
      if (all.length === 0) {
        io.out('(no clients)');
        return;
      }
      io.out(['CLIENT_ID', 'AUTH_METHOD', 'GRANT_TYPES', 'REDIRECT_URIS', 'CREATED_BY'].join('\t'));
      for (const c of all.sort((x, y) => x.client_id.localeCompare(y.client_id))) {
        io.out(
          [
            c.client_id,
            c.token_endpoint_auth_method ?? 'client_secret_basic',
            (c.grant_types ?? ['authorization_code']).join(','),
            (c.redirect_uris ?? []).join(',') || '-',
            // Dynamic registration stamps client_id_issued_at; the CLI does not.
            c.client_id_issued_at === undefined ? 'cli' : 'registration',
          ].join('\t'),
        );
      }
      return;
    }
    case 'show': {
      onlyFlags(args, []);
      const { client_secret, ...shown } = await find(store, clientId(args));
      io.out(JSON.stringify(shown, null, 2));
      if (client_secret !== undefined) io.out('(client_secret is set and not shown)');
      return;
    }
    case 'update': {
      onlyFlags(args, ['file']);
      const id = clientId(args);
      const file = single(args, 'file');
      if (!file) throw new CliError('clients update needs --file client.json', 2);
      const metadata = readMetadata(file);
      if (metadata.client_id !== undefined && metadata.client_id !== id) {
        throw new CliError(`${file} names client_id ${String(metadata.client_id)}, not ${id}`, 2);
      }
      const current = await find(store, id);
      metadata.client_id = id;
      const generated = settleSecret(metadata, provider, current.client_secret);
      await validate(provider, metadata);
      await store.clients.save(metadata);
      io.out(`updated client ${id}`);
      if (generated) io.out(`client_secret: ${generated}\n(shown once: store it now)`);
      return;
    }
    case 'remove': {
      onlyFlags(args, []);
      const id = clientId(args);
      if (!(await store.clients.remove(id))) throw new CliError(`no client ${id}`);
      io.out('removed');
      return;
    }
    case 'token': {
      // An initial access token for dynamic registration (CLIENT_REGISTRATION=token), printed once.
      onlyFlags(args, ['ttl', 'uses']);
      if (args.positionals[1] !== 'create' || args.positionals.length > 2)
        throw new CliError('usage: clients token create --ttl <seconds> [--uses <n>]', 2);
      const ttl = Number(single(args, 'ttl'));
      const uses = Number(single(args, 'uses') ?? '1');
      if (!Number.isInteger(ttl) || ttl < 60 || ttl > 30 * 86_400)
        throw new CliError('--ttl must be a whole number of seconds from 60 to 2592000 (30 days)', 2);
      if (!Number.isInteger(uses) || uses < 1 || uses > 10_000)
        throw new CliError('--uses must be a whole number from 1 to 10000', 2);
      const token = await createInitialAccessToken(provider, store, ttl, uses);
      io.out(
        `initial access token: ${token}\n(valid ${ttl} s for ${uses} client${uses === 1 ? '' : 's'}; shown once: store it now)`,
      );
      return;
    }
    default:
      throw new CliError(`usage:\n${CLIENTS_USAGE}`, 2);
  }
}
