/** The authentication context classes a Gatehouse sign-in asserts (docs/mfa.md). */
export const ACR_PASSWORD = 'urn:gatehouse:acr:password';
export const ACR_MFA = 'urn:gatehouse:acr:mfa';
