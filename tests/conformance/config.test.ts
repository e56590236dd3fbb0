/**
 * oidcc-config-certification-test-plan: oidcc-discovery-endpoint-verification (discovery document and JWKS), with
 * the suite's FAILURE/WARNING split. The real suite insists on https (discoveryUrl, every *_endpoint): checked here
 * on a Gatehouse whose issuer is https (behind a TLS-terminating proxy; the local hop is http).
 */
import test, { type ExecutionContext } from 'ava';
import * as jose from 'jose';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { readFileSync } from 'node:fs';
import { conformanceModule, type ModuleRun, STATIC_CLIENTS, fileOp } from './harness.ts';
import { defined } from '../helpers/defined.ts';

const PLAN = 'oidcc-config-certification-test-plan';
const op = fileOp(test);

/** Registered authorization server metadata names (IANA "OAuth Authorization Server Metadata", RFC 8414 + OIDC Discovery). */
const KNOWN_METADATA = new Set([
  'issuer',
  'authorization_endpoint',
  'token_endpoint',
  'userinfo_endpoint',
  'jwks_uri',
  'registration_endpoint',
  'scopes_supported',
  'response_types_supported',
  'response_modes_supported',
  'grant_types_supported',
  'acr_values_supported',
  'subject_types_supported',
  'id_token_signing_alg_values_supported',
  'id_token_encryption_alg_values_supported',
  'id_token_encryption_enc_values_supported',
  'userinfo_signing_alg_values_supported',
  'userinfo_encryption_alg_values_supported',
  'userinfo_encryption_enc_values_supported',
  'request_object_signing_alg_values_supported',
  'request_object_encryption_alg_values_supported',
  'request_object_encryption_enc_values_supported',
  'token_endpoint_auth_methods_supported',
  'token_endpoint_auth_signing_alg_values_supported',
  'display_values_supported',
  'claim_types_supported',
  'claims_supported',
  'service_documentation',
  'claims_locales_supported',
  'ui_locales_supported',
  'claims_parameter_supported',
  'request_parameter_supported',
  'request_uri_parameter_supported',
  'require_request_uri_registration',
  'op_policy_uri',
  'op_tos_uri',
  'revocation_endpoint',
  'revocation_endpoint_auth_methods_supported',
  'revocation_endpoint_auth_signing_alg_values_supported',
  'introspection_endpoint',
  'introspection_endpoint_auth_methods_supported',
  'introspection_endpoint_auth_signing_alg_values_supported',
  'code_challenge_methods_supported',
  'end_session_endpoint',
  'check_session_iframe',
  'frontchannel_logout_supported',
  'frontchannel_logout_session_supported',
  'backchannel_logout_supported',
  'backchannel_logout_session_supported',
  'pushed_authorization_request_endpoint',
  'require_pushed_authorization_requests',
  'require_signed_request_object',
  'authorization_response_iss_parameter_supported',
  'dpop_signing_alg_values_supported',
  'tls_client_certificate_bound_access_tokens',
  'mtls_endpoint_aliases',
  'device_authorization_endpoint',
  'introspection_signing_alg_values_supported',
  'authorization_signing_alg_values_supported',
  'authorization_details_types_supported',
  'signed_metadata',
]);

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const BCP47 = /^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?$/;
const B64URL = /^[A-Za-z0-9_-]+$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** The base64url members of a public key, by key type (RFC 7518 6.2 and 6.3, RFC 8037). */
const PUBLIC_MEMBERS: Record<string, string[]> = { RSA: ['n', 'e'], EC: ['x', 'y'], OKP: ['x'] };

function checkEndpoints(t: ExecutionContext, doc: Record<string, unknown>, origin: string, protocol: string): void {
  const endpoints = Object.entries(doc).filter(([key]) => key.endsWith('_endpoint') || key === 'jwks_uri');
  t.true(
    endpoints.some(([key]) => key === 'token_endpoint'),
    'the endpoints are listed',
  );
  for (const [key, value] of endpoints) {
    t.is(typeof value, 'string', `${key} is a string`);
    t.true(URL.canParse(value as string), `${key} is an absolute URL`);
    const url = new URL(value as string);
    t.is(url.protocol, protocol, `${key} uses ${protocol}`);
    t.is(url.origin, origin, `${key} is on the issuer's origin`);
    t.is(url.hash, '', `${key} has no fragment`);
  }
}

async function verifyDiscovery(t: ExecutionContext, run: ModuleRun, issuer: string, base: string): Promise<void> {
  const discoveryUrl = `${issuer}/.well-known/openid-configuration`;
  const res = await fetch(`${base}/.well-known/openid-configuration`);
  t.is(res.status, 200, 'EnsureDiscoveryEndpointResponseStatusCodeIs200');
  t.regex(res.headers.get('content-type') ?? '', /^application\/json/, 'CheckDiscoveryEndpointReturnedJsonContentType');
  const doc = (await res.json()) as Record<string, unknown>;

  // CheckDiscEndpointIssuer / CheckDiscEndpointIssuerIsValidUrl
  t.is(doc.issuer, issuer);
  t.is(
    `${doc.issuer}/.well-known/openid-configuration`,
    discoveryUrl,
    'issuer + /.well-known/openid-configuration is the discovery URL',
  );
  const iss = new URL(doc.issuer as string);
  t.is(iss.search, '');
  t.is(iss.hash, '');

  // OIDCCCheckDiscEndpointResponseTypesSupported: at least one OIDC response type.
  const oidcResponseTypes = [
    'code',
    'code id_token',
    'id_token',
    'token id_token',
    'code id_token token',
    'code token',
  ];
  t.true((doc.response_types_supported as string[]).some((r) => oidcResponseTypes.includes(r)));

  // ValidateServerMetadataAgainstSchema (types) + CheckForUnexpectedParametersInServerMetadata (WARNING)
  const flags = Object.keys(doc).filter(
    (key) =>
      key.endsWith('parameter_supported') ||
      key.endsWith('logout_supported') ||
      key.endsWith('session_supported') ||
      key.startsWith('require_'),
  );
  const lists = Object.keys(doc).filter((key) => key.endsWith('_supported') && !flags.includes(key));
  t.true(lists.includes('scopes_supported') && flags.includes('claims_parameter_supported'), 'both kinds are checked');
  for (const key of lists) {
    const value = doc[key];
    t.true(
      Array.isArray(value) && (value as unknown[]).every((v) => typeof v === 'string'),
      `${key} is an array of strings`,
    );
  }
  for (const key of flags) t.is(typeof doc[key], 'boolean', `${key} is a boolean`);
  const unexpected = Object.keys(doc).filter((k) => !KNOWN_METADATA.has(k));
  run.warn(unexpected.length === 0, `unexpected metadata members: ${unexpected.join(', ')}`);

  // CheckDiscEndpointSubjectTypesSupported, OIDCCCheckDiscEndpointIdTokenSigningAlgValuesSupported
  t.true((doc.subject_types_supported as string[]).some((s) => s === 'public' || s === 'pairwise'));
  t.true((doc.id_token_signing_alg_values_supported as string[]).includes('RS256'));
  t.false((doc.id_token_signing_alg_values_supported as string[]).includes('none'));

  // Authorization, token, userinfo (WARNING if missing), registration (if present) endpoints; jwks_uri
  t.is(typeof doc.authorization_endpoint, 'string');
  t.is(typeof doc.token_endpoint, 'string');
  run.warn(typeof doc.userinfo_endpoint === 'string', 'no userinfo_endpoint');
  t.is(typeof doc.jwks_uri, 'string');
  checkEndpoints(t, doc, iss.origin, iss.protocol);

  // CheckDiscEndpointRequestObjectSigningAlgValuesSupportedIncludesRS256 (WARNING), claims_supported (WARNING)
  if (doc.request_object_signing_alg_values_supported) {
    run.warn(
      (doc.request_object_signing_alg_values_supported as string[]).includes('RS256'),
      'request_object_signing_alg_values_supported lacks RS256',
    );
  }
  run.warn(Array.isArray(doc.claims_supported) && (doc.claims_supported as string[]).length > 0, 'no claims_supported');

  // OIDCCCheckDiscEndpointGrantTypesSupported
  t.true(
    Array.isArray(doc.grant_types_supported) && (doc.grant_types_supported as string[]).length > 0,
    'grant_types_supported is published',
  );

  // CheckDiscEndpointScopesSupportedContainsOpenId + CheckDiscEndpointScopesSupportedSyntax (RFC 6749 3.3)
  run.warn(doc.scopes_supported !== undefined, 'no scopes_supported');
  t.true((doc.scopes_supported as string[]).includes('openid'));
  for (const s of doc.scopes_supported as string[]) t.regex(s, SCOPE_TOKEN, `scope ${s} is a valid scope-token`);

  // CheckDiscEndpointLocalesSyntax (FAILURE) + CheckDiscEndpointLocalesCanonicalCasing (WARNING)
  for (const key of ['ui_locales_supported', 'claims_locales_supported']) {
    for (const tag of (doc[key] as string[] | undefined) ?? []) {
      t.regex(tag, BCP47, `${key}: ${tag} is a BCP 47 tag`);
      run.warn(tag === canonicalCase(tag), `${key}: ${tag} is not in canonical casing`);
    }
  }

  // EnsureServerConfigurationCodeChallengeMethodsSupportedIsAnArray (+ S256 as PKCE asks)
  t.true(Array.isArray(doc.code_challenge_methods_supported));
  t.true((doc.code_challenge_methods_supported as string[]).includes('S256'));
  t.false((doc.code_challenge_methods_supported as string[]).includes('plain'), 'plain PKCE is not offered');

  // FetchServerKeys + ValidateJwksSequence + key id checks
  const jwksRes = await fetch(new URL(new URL(doc.jwks_uri as string).pathname, base));
  t.is(jwksRes.status, 200);
  t.regex(jwksRes.headers.get('content-type') ?? '', /json/);
  const jwks = (await jwksRes.json()) as { keys: Array<Record<string, unknown>> };
  t.true(Array.isArray(jwks.keys) && jwks.keys.length > 0, 'a non-empty keys array');
  const kids = new Set<string>();
  for (const key of jwks.keys) {
    t.is(typeof key.kty, 'string');
    t.not(key.kty, 'oct', 'no symmetric key is published');
    for (const m of PRIVATE_MEMBERS)
      t.false(m in key, `no private member ${m} (EnsureJwksHasNoPrivateOrSymmetricKeyMaterial)`);
    const publicMembers = PUBLIC_MEMBERS[key.kty as string];
    t.truthy(publicMembers, `a known key type: ${String(key.kty)}`);
    for (const m of publicMembers ?? []) t.regex(key[m] as string, B64URL, `${m} is unpadded base64url`);
    t.true(typeof key.kid === 'string' && key.kid !== '', 'every key has a kid (CheckForKeyIdInServerJWKs)');
    t.false(kids.has(key.kid as string), 'kids are distinct (CheckDistinctKeyIdValueInServerJWKs)');
    kids.add(key.kid as string);
    run.warn(key.use === undefined || key.use === 'sig', `key ${String(key.kid)} has use ${String(key.use)}`);
    await t.notThrowsAsync(
      jose.importJWK(key as jose.JWK, key.alg as string | undefined),
      `key ${String(key.kid)} is usable (ParseUsableJwksKeys)`,
    );
  }
  t.true(
    jwks.keys.some((k) => k.kty === 'RSA' && (k.alg === undefined || k.alg === 'RS256')),
    'an RS256 key for ID tokens',
  );
}

function canonicalCase(tag: string): string {
  return tag
    .split('-')
    .map((part, i) =>
      i === 0
        ? part.toLowerCase()
        : part.length === 2
          ? part.toUpperCase()
          : part.length === 4
            ? part[0]?.toUpperCase() + part.slice(1).toLowerCase()
            : part.toLowerCase(),
    )
    .join('-');
}

test('oidcc-discovery-endpoint-verification', async (t) => {
  const run = conformanceModule(t, PLAN);
  await verifyDiscovery(t, run, op.issuer, op.issuer);

  // What the real suite would see on a deployed (https) Gatehouse: CheckDiscEndpointDiscoveryUrl and
  // CheckDiscEndpointAllEndpointsAreHttps are FAILUREs on http. Same checks with an https issuer.
  const https = await startGatehouse(t, { issuer: 'https://gatehouse.example.test' });
  const local = `http://127.0.0.1:${(https.server.address() as { port: number }).port}`;
  await verifyDiscovery(t, run, 'https://gatehouse.example.test', local);
});

test("docs/conformance-clients.json: the clients these tests use, with the suite's URIs, and Gatehouse starts with it", async (t) => {
  const file = new URL('../../docs/conformance-clients.json', import.meta.url);
  const documented = JSON.parse(readFileSync(file, 'utf8')) as { clients: Array<Record<string, unknown>> };
  const strip = ({
    client_secret,
    client_name,
    redirect_uris,
    post_logout_redirect_uris,
    ...rest
  }: Record<string, unknown>) => rest;
  t.deepEqual(
    documented.clients.map(strip),
    STATIC_CLIENTS.map((c) => strip(c as unknown as Record<string, unknown>)),
  );
  for (const c of documented.clients) {
    t.regex(
      defined((c.redirect_uris as string[])[0], 'a redirect URI'),
      /^https:\/\/www\.certification\.openid\.net\/test\/a\/gatehouse\/callback$/,
    );
    t.regex(
      defined((c.post_logout_redirect_uris as string[])[0], 'a post-logout redirect URI'),
      /\/post_logout_redirect$/,
    );
  }
  const gh = await startGatehouse(t, { issuer: 'https://gatehouse.example.test' }, { CONFIG_FILE: file.pathname });
  for (const c of documented.clients)
    t.truthy(await gh.gatehouse.provider.Client.find(c.client_id as string), `${String(c.client_id)} loads`);
});
