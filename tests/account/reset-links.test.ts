/**
 * Forgotten password over real HTTP, as an attacker would try it: the answer tells nothing about the account
 * (same page; the storage work done before the answer is the same; the mail goes out only after the answer), and
 * a reset link works once, within its lifetime, for its exact value — of 20 concurrent uses exactly one wins.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { SMTPServer } from 'smtp-server';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

const PASSWORD = 'correct horse battery staple';

function form(gh: TestGatehouse, path: string, fields: Record<string, string>): Promise<Response> {
  return fetch(`${gh.issuer}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.issuer },
    body: new URLSearchParams(fields).toString(),
  });
}

/** The page without what differs on every response (the CSP nonce). */
const normalise = (html: string) => html.replace(/nonce="[^"]+"/g, 'nonce=""');

/** Asks for a reset link (development: no SMTP_URL, the mail is a log line) and returns the link's token. */
async function resetToken(gh: TestGatehouse, identifier: string): Promise<string> {
  const before = gh.logs.length;
  const res = await form(gh, '/account/forgot', { identifier });
  if (res.status !== 200) throw new Error(`forgot answered ${res.status}`);
  await res.text();
  for (;;) {
    const line = gh.logs.slice(before).find((l) => l.mail === 'reset');
    if (line) return String(line.link).split('/').pop() as string;
    // The mail goes out after the answer: wait for its log line.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('forgot password: the same answer for known and unknown accounts; lookup-dependent work starts only after the answer', async (t) => {
  // The SMTP server does not accept a connection until the test has read the answer: were the answer waiting for
  // the mail, it would never come.
  let answered: () => void = () => {};
  let answeredPromise = new Promise<void>((resolve) => (answered = resolve));
  const received: string[] = [];
  let delivered: () => void = () => {};
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onConnect(_session, callback) {
      void answeredPromise.then(() => callback());
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        callback();
        delivered();
      });
    },
  });
  smtp.listen(0, '127.0.0.1');
  await once(smtp.server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => smtp.close(() => resolve())));
  const gh = await startGatehouse(t, {
    'mail.smtpUrl': `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
  });
  await gh.gatehouse.accounts.create({ username: 'erin', password: PASSWORD, email: 'erin@example.com' });
  await gh.gatehouse.accounts.create({ username: 'frank', password: PASSWORD });

  // Storage operations, split into those done before the response finished and those after.
  let phase: 'before' | 'after' = 'before';
  let ops: { before: string[]; after: string[] } = { before: [], after: [] };
  const metrics = gh.gatehouse.metrics;
  const observe = metrics.observeStorage.bind(metrics);
  metrics.observeStorage = (operation, seconds, failed) => {
    ops[phase].push(operation);
    observe(operation, seconds, failed);
  };
  gh.server.prependListener('request', (_req, res) => res.once('finish', () => (phase = 'after')));

  async function ask(identifier: string, mails: number) {
    phase = 'before';
    ops = { before: [], after: [] };
    answeredPromise = new Promise<void>((resolve) => (answered = resolve));
    const res = await form(gh, '/account/forgot', { identifier });
    const body = normalise(await res.text());
    answered();
    while (received.length < mails) await new Promise<void>((resolve) => (delivered = resolve));
    return { status: res.status, body, before: [...ops.before].sort(), after: ops.after };
  }

  const unknownName = await ask('nobody', 0);
  const knownName = await ask('erin', 1);
  const noEmail = await ask('frank', 1);
  const unknownEmail = await ask('nobody@example.com', 1);
  const knownEmail = await ask('ERIN@example.com', 2);
  for (const r of [knownName, noEmail, unknownEmail, knownEmail]) {
    t.is(r.status, unknownName.status);
    t.is(r.body, unknownName.body, 'the same page, byte for byte');
  }
  t.regex(unknownName.body, /a link is on its way/);
  t.deepEqual(knownName.before, unknownName.before, 'the same storage work before the answer (username)');
  t.deepEqual(noEmail.before, unknownName.before);
  t.deepEqual(knownEmail.before, unknownEmail.before, 'the same storage work before the answer (email)');
  t.true(knownName.after.includes('oneTimeTokens.put'), 'the link is made after the answer');
  t.true(knownEmail.before.includes('emailIndex.find'), 'an email is looked up in the email index');
  t.false(knownEmail.before.includes('accounts.list'), 'no scan of every account');
  t.false(unknownName.before.includes('oneTimeTokens.put'));
  t.is(received.length, 2);
  t.true(received.every((raw) => /To: erin@example.com/.test(raw)));
  const metricsText = await (await fetch(`${gh.issuer}/metrics`)).text();
  t.regex(
    metricsText,
    /gatehouse_account_events_total\{event="account.reset_requested"\} 5/,
    'counted alike, without a reason label',
  );
});

test('a reset link works once; a tampered or malformed one is refused; each refusal is audited', async (t) => {
  const gh = await startGatehouse(t);
  await gh.gatehouse.accounts.create({ username: 'gina', password: PASSWORD, email: 'gina@example.com' });
  const token = await resetToken(gh, 'gina');
  const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
  t.is((await form(gh, `/account/reset/${tampered}`, { password: 'tampered link password 1' })).status, 400);
  t.is(
    (await form(gh, `/account/reset/${token.slice(1)}`, { password: 'tampered link password 1' })).status,
    400,
    'malformed',
  );
  t.is((await form(gh, `/account/reset/${token}%00`, { password: 'tampered link password 1' })).status, 400);
  t.falsy((await gh.gatehouse.accounts.authenticate('gina', 'tampered link password 1')).account);

  const first = await form(gh, `/account/reset/${token}`, { password: 'the first new password' });
  t.is(first.status, 200);
  t.regex(await first.text(), /Password set/);
  const again = await form(gh, `/account/reset/${token}`, { password: 'the second new password' });
  t.is(again.status, 400, 'single use');
  t.truthy((await gh.gatehouse.accounts.authenticate('gina', 'the first new password')).account);
  t.falsy((await gh.gatehouse.accounts.authenticate('gina', 'the second new password')).account);
  t.is(gh.logs.filter((l) => l.audit === 'account.link_refused').length, 4);
  t.false(
    JSON.stringify(gh.logs.filter((l) => l.mail !== 'reset')).includes(token),
    'the token is logged only as the development mail line',
  );
});

test('a reset link expires with account.resetLinkTtlSeconds', async (t) => {
  const gh = await startGatehouse(t, { 'account.resetLinkTtlSeconds': 1 });
  await gh.gatehouse.accounts.create({ username: 'hank', password: PASSWORD, email: 'hank@example.com' });
  const token = await resetToken(gh, 'hank');
  // The lifetime is measured by the store's clock: only time passing can expire it.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const res = await form(gh, `/account/reset/${token}`, { password: 'too late a password' });
  t.is(res.status, 400);
  t.falsy((await gh.gatehouse.accounts.authenticate('hank', 'too late a password')).account);
  t.truthy((await gh.gatehouse.accounts.authenticate('hank', PASSWORD)).account);
});

test('20 concurrent uses of one reset link: exactly one wins, and its password is the one set', async (t) => {
  const gh = await startGatehouse(t);
  await gh.gatehouse.accounts.create({ username: 'ivy', password: PASSWORD, email: 'ivy@example.com' });
  const token = await resetToken(gh, 'ivy@example.com');
  const results = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const res = await form(gh, `/account/reset/${token}`, { password: `concurrent password number ${i}` });
      await res.text();
      return { i, status: res.status };
    }),
  );
  const winners = results.filter((r) => r.status === 200);
  t.is(winners.length, 1);
  t.true(
    results.every((r) => r.status === 200 || r.status === 400),
    'every loser gets a clear 400',
  );
  const winner = winners[0]?.i as number;
  t.truthy((await gh.gatehouse.accounts.authenticate('ivy', `concurrent password number ${winner}`)).account);
  t.falsy((await gh.gatehouse.accounts.authenticate('ivy', `concurrent password number ${(winner + 1) % 20}`)).account);
});
