/**
 * The password policy on the list the project ships (config/common-passwords.txt): length in characters as typed,
 * common passwords refused whatever their case, and no composition rules.
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { PasswordPolicy } from '../../src/accounts/password-policy.ts';
import { loadConfig } from '../../src/config/load.ts';

const policy = new PasswordPolicy(loadConfig({ env: {} }).passwords);
const code = (password: string, username?: string) => {
  try {
    policy.check(password, username);
    return 'ok';
  } catch (err) {
    return (err as { code: string }).code;
  }
};

test('the default minimum is 12 characters, counted as typed', (t) => {
  t.is(policy.minLength, 12);
  t.is(code('abcdefghijk'), 'too_short');
  t.is(code('zebra lamp 9'), 'ok');
  t.is(code('🔒🔒🔒🔒🔒🔒🔒🔒🔒🔒🔒'), 'too_short', 'eleven emoji are eleven characters');
  t.is(code('日本語のパスフレーズです'), 'ok');
  t.is(code('x'.repeat(1025)), 'too_long');
});

test('every entry of the shipped list is refused, in any case; the list is the one documented', (t) => {
  const list = readFileSync('config/common-passwords.txt', 'utf8').split('\n').filter(Boolean);
  t.is(list.length, 39_330);
  t.true(list.every((p) => p.length >= 8));
  const long = list.filter((p) => [...p].length >= 12);
  t.true(long.length > 400);
  for (const p of long) t.is(code(p), 'common', p);
  t.is(code('PassWord1234'), 'common');
  t.is(code('1QAZ2WSX3EDC'), 'common');
});

test('no composition rules; the username itself is refused', (t) => {
  t.is(code('all lower case words'), 'ok');
  t.is(code('123498761234567'), 'ok', 'digits only, if long and not common');
  t.is(code('Alice.Example', 'alice.example'), 'same_as_username');
});
