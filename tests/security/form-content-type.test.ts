/**
 * Which bodies Gatehouse reads as a form before oidc-provider does (src/web/token-form.ts `isForm`): exactly the
 * Content-Types Koa's `ctx.is('application/x-www-form-urlencoded')` accepts.
 */
import test from 'ava';
import { isForm } from '../../src/web/token-form.ts';

test('application/x-www-form-urlencoded in any case, with or without parameters, is a form', (t) => {
  for (const type of [
    'application/x-www-form-urlencoded',
    'Application/X-WWW-Form-Urlencoded',
    'application/x-www-form-urlencoded; charset=utf-8',
    'application/x-www-form-urlencoded ;charset=UTF-8',
  ])
    t.true(isForm(type), type);
});

test('anything else is not', (t) => {
  for (const type of [
    '',
    'application/json',
    'multipart/form-data',
    'application/x-www-form-urlencoded-extra',
    'text/plain; application/x-www-form-urlencoded',
  ])
    t.false(isForm(type), type);
});
