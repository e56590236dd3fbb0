/**
 * Claims an ID token or a userinfo answer carries whatever the user consented to: protocol, not user data
 * (OpenID Connect Core 2 and 5.1). What is left of a token's claims without these is what scopes and claims
 * requests added.
 */
export const PROTOCOL_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'auth_time',
  'nonce',
  'acr',
  'amr',
  'azp',
  'sid',
  'c_hash',
  'at_hash',
  's_hash',
]);
