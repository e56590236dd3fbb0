/**
 * Passkeys in real Chromium with a virtual WebAuthn authenticator (DevTools protocol), over real HTTP: registered on
 * /account/security, then a sign-in with the passkey alone (no password typed), through the button and through the
 * username field's autofill; a removed passkey stops working; a cloned authenticator whose counter went backwards is
 * refused. The issuer is http://localhost:<port>: WebAuthn takes a domain as the relying party's id, never an IP
 * address.
 */
import test from 'ava';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { fileChromium } from '../demo/chromium.ts';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { inPage } from '../pages/browser.ts';
import { withAuthenticator } from './authenticator.ts';

const PASSWORD = 'correct horse battery staple';

const browser = fileChromium(test);

interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId: string;
  privateKey: string;
  userHandle: string;
  signCount: number;
}

async function credentials(cdp: CDPSession, authenticatorId: string): Promise<VirtualCredential[]> {
  return ((await cdp.send('WebAuthn.getCredentials', { authenticatorId })) as { credentials: VirtualCredential[] })
    .credentials;
}

async function newContext(t: import('ava').ExecutionContext): Promise<BrowserContext> {
  const context = await browser.newContext();
  t.teardown(() => context.close());
  return context;
}

/** /account/security without a session goes through the sign-in page (password) and comes back. */
async function passwordSignIn(page: Page, gh: TestGatehouse, username: string): Promise<void> {
  await page.goto(`${gh.issuer}/account/security`);
  await page.waitForURL(/\/interaction\//);
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await Promise.all([
    page.waitForURL(`${gh.issuer}/account/security`),
    page.click('form[action$="/login"] button[type=submit]'),
  ]);
}

async function registerPasskey(page: Page, name: string): Promise<void> {
  await page.fill('#new-passkey-name', name);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/account/security/passkeys/add')),
    page.waitForEvent('load'),
    page.click('form[data-passkey="register"] button[type=submit]'),
  ]);
  if (answer.status() !== 200) throw new Error(`registering the passkey answered ${answer.status()}`);
}

/** Ends the Gatehouse session through the logout page, as a user does. */
async function signOut(page: Page, gh: TestGatehouse): Promise<void> {
  await page.goto(`${gh.issuer}/session/end`);
  await Promise.all([page.waitForEvent('load'), page.click('button[name=logout]')]);
}

/**
 * Opens the sign-in page for /account. The virtual authenticator answers the page's conditional (autofill) request
 * by itself, as a user picking the passkey from the username field's suggestions does; the page posts the answer.
 */
async function passkeyAutofill(page: Page, gh: TestGatehouse): Promise<number> {
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/passkey')),
    page.goto(`${gh.issuer}/account`),
  ]);
  return answer.status();
}

test('passkey: registered on /account/security, then a sign-in with it alone; removed, it no longer works', async (t) => {
  const gh = await startGatehouse(t, {}, {}, 'localhost');
  await gh.gatehouse.accounts.create({ username: 'alice', password: PASSWORD });
  const context = await newContext(t);
  const { page, cdp, authenticatorId } = await withAuthenticator(context);

  await passwordSignIn(page, gh, 'alice');
  await registerPasskey(page, 'Work laptop');
  t.is(await page.locator('li[data-passkey-id]').count(), 1, 'the passkey is listed');
  t.regex((await page.locator('li[data-passkey-id] strong').textContent()) ?? '', /Work laptop/);
  const [stored] = await credentials(cdp, authenticatorId);
  t.true(stored?.isResidentCredential, 'a discoverable credential (no username needed to use it)');
  t.true(gh.logs.some((l) => l.audit === 'mfa.enrolled' && l.factor === 'passkey'));

  await signOut(page, gh);
  t.is(await passkeyAutofill(page, gh), 303, 'the passkey answer is accepted');
  await page.waitForURL(`${gh.issuer}/account`);
  t.is(
    await page.locator('#password').count(),
    1,
    'signed in with the passkey alone: /account (its password form), no password typed',
  );
  t.true(gh.logs.some((l) => l.audit === 'mfa.success' && l.factor === 'passkey'));

  // Removing it on /account/security: the authenticator still holds the key, Gatehouse no longer accepts it.
  await page.goto(`${gh.issuer}/account/security`);
  await Promise.all([page.waitForEvent('load'), page.click('form[action="/account/security/passkeys/remove"] button')]);
  t.is(await page.locator('li[data-passkey-id]').count(), 0);
  t.true(gh.logs.some((l) => l.audit === 'mfa.removed' && l.factor === 'passkey'));
  t.is((await credentials(cdp, authenticatorId)).length, 1, 'the browser still has the key');
  await signOut(page, gh);
  t.is(await passkeyAutofill(page, gh), 400, 'a removed passkey is refused');
  t.true(page.url().includes('/interaction/'), 'and nobody is signed in');
});

test('passkey autofill is available; the button on the second step uses the passkey after a password', async (t) => {
  const gh = await startGatehouse(t, {}, {}, 'localhost');
  await gh.gatehouse.accounts.create({ username: 'bob', password: PASSWORD });
  const context = await newContext(t);
  const { page, cdp, authenticatorId } = await withAuthenticator(context);
  await passwordSignIn(page, gh, 'bob');
  t.true(
    await inPage<boolean>(page, 'PublicKeyCredential.isConditionalMediationAvailable()'),
    'this Chromium offers passkeys in autofill',
  );
  await registerPasskey(page, 'Phone');
  await signOut(page, gh);
  // The key is taken out of the authenticator until the second step, so the sign-in page's autofill finds none.
  const [key] = await credentials(cdp, authenticatorId);
  await cdp.send('WebAuthn.clearCredentials', { authenticatorId });

  // With a passkey, the account is asked for it after the password too: the second step's button.
  await page.goto(`${gh.issuer}/account/security`);
  await page.waitForURL(/\/interaction\//);
  await page.fill('#username', 'bob');
  await page.fill('#password', PASSWORD);
  await Promise.all([
    page.waitForURL(/\/interaction\/[^/]+$/),
    page.click('form[action$="/login"] button[type=submit]'),
  ]);
  await page.waitForSelector('form[data-passkey="authenticate"] button[type=submit]:not([hidden])');
  await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: key as VirtualCredential });
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/passkey')),
    page.click('form[data-passkey="authenticate"] button[type=submit]'),
  ]);
  t.is(answer.status(), 303);
  await page.waitForURL(`${gh.issuer}/account/security`);
  t.true(gh.logs.some((l) => l.audit === 'mfa.success' && l.factor === 'passkey'));
});

test('a cloned authenticator whose counter went backwards is refused', async (t) => {
  const gh = await startGatehouse(t, {}, {}, 'localhost');
  await gh.gatehouse.accounts.create({ username: 'carol', password: PASSWORD });
  const context = await newContext(t);
  const original = await withAuthenticator(context);
  await passwordSignIn(original.page, gh, 'carol');
  await registerPasskey(original.page, 'Security key');
  const [copy] = await credentials(original.cdp, original.authenticatorId);
  t.truthy(copy);
  await signOut(original.page, gh);
  t.is(await passkeyAutofill(original.page, gh), 303, 'the original works');
  await original.page.waitForURL(`${gh.issuer}/account`);
  const after = (await credentials(original.cdp, original.authenticatorId))[0];
  t.true((after?.signCount ?? 0) > (copy?.signCount ?? 0), 'and its counter moved on');

  // The clone: the same private key with the counter as it was when copied, in another browser.
  const cloneContext = await newContext(t);
  const clone = await withAuthenticator(cloneContext);
  await clone.cdp.send('WebAuthn.addCredential', {
    authenticatorId: clone.authenticatorId,
    credential: copy as VirtualCredential,
  });
  t.is(await passkeyAutofill(clone.page, gh), 400, 'the clone is refused');
  t.true(clone.page.url().includes('/interaction/'));
  t.true(gh.logs.some((l) => l.audit === 'mfa.failure' && l.factor === 'passkey'));
});
