/**
 * `clients add --file client.json | list | remove <client_id>`.
 *
 * Rules: metadata is validated by oidc-provider's own client schema (plus Gatehouse's own properties:
 * src/provider/client-access.ts) before it is stored; a confidential client without a secret gets a generated 256-bit one,
 * printed once; a supplied secret must look like one (>= 43 characters, >= 16 distinct) — weak secrets are refused.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import type { Store } from '../../storage/types.ts';
import { CliError, type Io, onlyFlags, type ParsedArgs, single } from '../io.ts';

export const CLIENTS_USAGE = `clients add --file client.json
clients list
clients remove <client_id>`;

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
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CliError(`${path} must hold one JSON object`, 2);
  return value as ClientMetadata;
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
      let generated: string | undefined;
      if (metadata.client_secret !== undefined) assertStrongSecret(metadata.client_secret);
      else if ((provider.Client as unknown as { needsSecret(m: ClientMetadata): boolean }).needsSecret(metadata)) {
        generated = generateClientSecret();
        metadata.client_secret = generated;
      }
      try {
        await provider.Client.validate(metadata);
      } catch (err) {
        const e = err as { error?: string; error_description?: string; message?: string };
        throw new CliError(`invalid client metadata: ${e.error_description ?? e.message ?? 'rejected'}`, 2);
      }
      const existing = await store.clients.list();
      if (existing.some((c) => c.client_id === metadata.client_id)) throw new CliError(`client ${metadata.client_id} exists already`, 2);
      await store.clients.save(metadata);
      io.out(`created client ${metadata.client_id}`);
      if (generated) io.out(`client_secret: ${generated}\n(shown once: store it now)`);
      return;
    }
    case 'list':
      onlyFlags(args, []);
      for (const c of await store.clients.list()) {
        io.out([c.client_id, c.token_endpoint_auth_method ?? 'client_secret_basic', (c.redirect_uris ?? []).join(',') || '-'].join('\t'));
      }
      return;
    case 'remove': {
      onlyFlags(args, []);
      const id = args.positionals[1];
      if (!id) throw new CliError('missing <client_id>', 2);
      if (!(await store.clients.remove(id))) throw new CliError(`no client ${id}`);
      io.out('removed');
      return;
    }
    default:
      throw new CliError(`usage:\n${CLIENTS_USAGE}`, 2);
  }
}
