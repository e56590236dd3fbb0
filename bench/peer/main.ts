/**
 * The peer: plain oidc-provider (the version Gatehouse pins) with the straightforward Redis adapter of
 * ./redis-adapter.ts, configured like Gatehouse for what the bench measures — the same signing keys and
 * algorithms (ES256 ID tokens for the bench client, ES256 RFC 9068 JWT access tokens for the same resource
 * server, opaque access tokens without one), refresh-token rotation, the same lifetimes, PKCE, introspection,
 * revocation, userinfo, client credentials — and nothing Gatehouse adds (no access log, audit, metrics, rate
 * limits, prefetch, security headers). It is what a team would otherwise build; the bench reports Gatehouse's
 * figures as ratios to it. Started by the bench as its own process on its own redis-server, production-like
 * (NODE_ENV=production, no dev interactions).
 *
 * Sign-in: the library's own interaction flow, minimally — GET /interaction/<uid> answers a form (sign-in, then
 * consent, as the prompts come), POST …/login checks the one bench account's password with argon2id (the
 * parameters Gatehouse uses, so a login costs both the same hash), POST …/confirm grants what the consent
 * prompt says is missing. Tokens come from this real flow, never from records written into Redis.
 *
 * Env: PEER_SETUP, JSON of `PeerSetup` below (the bench writes it; it holds test secrets only).
 */
import { createServer, type IncomingMessage } from 'node:http';
import argon2 from 'argon2';
import { Redis } from 'ioredis';
import Provider, { type ClientMetadata, type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import { peerAdapter } from './redis-adapter.ts';

export interface PeerSetup {
  issuer: string;
  port: number;
  redisUrl: string;
  /** Private JWKS (JSON object with `keys`). */
  jwks: { keys: Record<string, unknown>[] };
  cookieKeys: string[];
  clients: ClientMetadata[];
  account: { id: string; username: string; password: string; claims: Record<string, unknown>; roles: string[] };
  resourceServer: { identifier: string; scopes: string[]; accessTokenAlg: string };
  /** Lifetimes in seconds, Gatehouse's names (config.ttl). */
  ttl: {
    accessToken: number;
    clientCredentials: number;
    idToken: number;
    authorizationCode: number;
    refreshTokenIdle: number;
    refreshTokenAbsolute: number;
    session: number;
    interaction: number;
  };
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
}

const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'phone', 'address'];
const CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
};
const ROUTE = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|confirm))?$/;

function readSetup(): PeerSetup {
  const raw = process.env.PEER_SETUP;
  if (!raw) throw new Error('PEER_SETUP is not set');
  return JSON.parse(raw) as PeerSetup;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 65_536) throw new errors.InvalidRequest('form too large');
  }
  return new URLSearchParams(body);
}

const page = (action: string, fields: string) =>
  `<!doctype html><title>peer</title><form method="post" action="${action}">${fields}<button>Continue</button></form>`;

async function main(): Promise<void> {
  const setup = readSetup();
  const redis = new Redis(setup.redisUrl);
  const accountKey = (id: string) => `account:${id}`;
  // The account lives in Redis like a team's user table would; every lookup reads it.
  await redis.set(
    accountKey(setup.account.id),
    JSON.stringify({ id: setup.account.id, claims: setup.account.claims, roles: setup.account.roles }),
  );
  const passwordHash = await argon2.hash(setup.account.password, { type: argon2.argon2id, ...setup.argon2 });
  const loadAccount = async (id: string) => {
    const raw = await redis.get(accountKey(id));
    return raw ? (JSON.parse(raw) as { id: string; claims: Record<string, unknown>; roles: string[] }) : undefined;
  };

  const t = setup.ttl;
  const rs = setup.resourceServer;
  const configuration: Configuration = {
    adapter: peerAdapter(redis),
    clients: setup.clients,
    jwks: setup.jwks as Configuration['jwks'],
    cookies: { keys: setup.cookieKeys },
    scopes: SCOPES,
    claims: CLAIMS,
    responseTypes: ['code'],
    async findAccount(_ctx, sub) {
      const account = await loadAccount(sub);
      if (!account) return undefined;
      return { accountId: account.id, claims: async () => ({ sub: account.id, ...account.claims }) };
    },
    async extraTokenClaims(_ctx, token) {
      const accountId = 'accountId' in token ? token.accountId : undefined;
      if (!accountId) return undefined;
      const account = await loadAccount(accountId);
      return account ? { roles: account.roles } : undefined;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    rotateRefreshToken: true,
    // Gatehouse issues refresh tokens to its first-party clients without offline_access (which the library drops
    // unless prompt=consent); the peer issues them to any client allowed the grant, so the bench's web client
    // gets the same tokens from both. Whether they end with the session stays the library's rule (Gatehouse's too).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: (_ctx, token) =>
        (token as { resourceServer?: { accessTokenTTL?: number } }).resourceServer?.accessTokenTTL ?? t.accessToken,
      ClientCredentials: (_ctx, token) =>
        (token as { resourceServer?: { accessTokenTTL?: number } }).resourceServer?.accessTokenTTL ??
        t.clientCredentials,
      AuthorizationCode: t.authorizationCode,
      IdToken: t.idToken,
      Interaction: t.interaction,
      Session: t.session,
      Grant: t.refreshTokenAbsolute,
      // Idle lifetime, capped by the absolute lifetime counted from the login (Gatehouse's rule).
      RefreshToken(_ctx, token) {
        const now = Math.floor(Date.now() / 1000);
        const loginAt = token.iiat ?? token.iat ?? now;
        return Math.max(1, Math.min(t.refreshTokenIdle, loginAt + t.refreshTokenAbsolute - now));
      },
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      // Typed loosely like Gatehouse's (src/provider/resources.ts): the library's types pin useGrantedResource to false.
      resourceIndicators: {
        enabled: true,
        useGrantedResource: () => true,
        async defaultResource(ctx: KoaContextWithOIDC, _client: unknown, oneOf?: readonly string[]) {
          if (oneOf) return oneOf;
          const scopes = String(ctx.oidc.params?.scope ?? '').split(' ');
          return rs.scopes.some((s) => scopes.includes(s)) ? rs.identifier : undefined;
        },
        async getResourceServerInfo(_ctx: KoaContextWithOIDC, resource: string) {
          if (resource !== rs.identifier) throw new errors.InvalidTarget();
          return {
            scope: rs.scopes.join(' '),
            audience: rs.identifier,
            accessTokenTTL: t.accessToken,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: rs.accessTokenAlg } },
          };
        },
      } as NonNullable<Configuration['features']>['resourceIndicators'],
    },
  };
  const provider = new Provider(setup.issuer, configuration);

  // The interaction routes, in front of the provider's own.
  provider.use(async (ctx, next) => {
    const m = ROUTE.exec(ctx.path);
    if (!m) return next();
    const [, uid, step] = m;
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) throw new errors.InvalidRequest('interaction mismatch');
    if (!step && ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body =
        details.prompt.name === 'login'
          ? page(`/interaction/${uid}/login`, '<input name="username"><input name="password" type="password">')
          : page(`/interaction/${uid}/confirm`, '<input type="hidden" name="decision" value="allow">');
      return;
    }
    if (ctx.method !== 'POST' || !step) throw new errors.InvalidRequest('unexpected interaction request');
    const form = await readForm(ctx.req);
    if (step === 'login') {
      const password = form.get('password') ?? '';
      const ok = form.get('username') === setup.account.username && (await argon2.verify(passwordHash, password));
      if (!ok) throw new errors.AccessDenied('wrong username or password');
      await provider.interactionFinished(
        ctx.req,
        ctx.res,
        { login: { accountId: setup.account.id } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (details.prompt.name !== 'consent') throw new errors.InvalidRequest('nothing to consent to');
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({
          accountId: String(details.session?.accountId),
          clientId: String(details.params.client_id),
        });
    if (!grant) throw new errors.InvalidRequest('grant not found');
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  });

  const server = createServer(provider.callback());
  server.listen(setup.port, '127.0.0.1');
  const stop = () => {
    server.close();
    server.closeAllConnections();
    redis.disconnect();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

await main();
