/**
 * oidc-provider's side of the second-factor policy (src/accounts/mfa/policy.ts):
 * - the login prompt gains the check `mfa_required`: a session signed in without a second factor is asked for one
 *   when this request needs it (step-up), even though the session is otherwise good;
 * - access tokens carry the `acr`, `amr` and `auth_time` of the sign-in they came from, like ID tokens do, so
 *   resource servers can demand a second factor too.
 */
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { AccountService } from '../accounts/service.ts';
import type { Config } from '../config/types.ts';
import { needsSecondFactor } from '../accounts/mfa/policy.ts';
import { ACR_MFA } from '../accounts/mfa/acr.ts';
import { clientMetadata } from './client-metadata.ts';

export function mfaLoginPolicy(config: Config, accounts: AccountService): interactionPolicy.Prompt[] {
  const policy = interactionPolicy.base();
  const login = policy.get('login');
  login?.checks.add(
    new interactionPolicy.Check('mfa_required', 'a second factor is required', async (ctx: KoaContextWithOIDC) => {
      const { session, client, params } = ctx.oidc;
      if (!session?.accountId || session.acr === ACR_MFA) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const account = await accounts.findById(session.accountId);
      const demand = {
        required: config.mfa.required,
        clientRequires: clientMetadata(client).require_mfa === true,
        params: (params ?? {}) as Record<string, unknown>,
      };
      return needsSecondFactor(demand, account)
        ? interactionPolicy.Check.REQUEST_PROMPT
        : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
  );
  return policy;
}

interface AuthSource {
  acr?: string;
  amr?: string[];
  authTime?: number;
}

/** `acr`, `amr`, `auth_time` of the code or refresh token a token request exchanges (none for client credentials). */
export function sessionAuthClaims(ctx: KoaContextWithOIDC): Record<string, unknown> {
  const entities = ctx?.oidc?.entities as { AuthorizationCode?: AuthSource; RefreshToken?: AuthSource } | undefined;
  const source = entities?.AuthorizationCode ?? entities?.RefreshToken;
  if (!source) return {};
  return {
    ...(source.acr ? { acr: source.acr } : {}),
    ...(source.amr ? { amr: source.amr } : {}),
    ...(source.authTime ? { auth_time: source.authTime } : {}),
  };
}
