/**
 * oidcc-basic-certification-test-plan: oidcc-codereuse-30seconds, in a file of its own because it waits 30 real
 * seconds as the suite does (WaitFor30Seconds), so it runs beside the other files instead of holding one up.
 * Why the wait matters: a store that forgot consumed codes early (a TTL shorter than the code's lifetime, or a
 * delete on consume) would still answer invalid_grant but could no longer revoke the tokens issued for the code.
 */
import test from 'ava';
import { checkTokenError, conformanceModule, exchangeCode, happyFlow, fileOp, userinfo, CLIENT } from './harness.ts';

const PLAN = 'oidcc-basic-certification-test-plan';
const op = fileOp(test);

test('oidcc-codereuse-30seconds', async (t) => {
  t.timeout(90_000);
  const run = conformanceModule(t, PLAN);
  const { code, tokens } = await happyFlow(t, run, op);
  t.is((await userinfo(op, tokens.accessToken, 'get')).status, 200, 'the access token works before the reuse');
  await new Promise((resolve) => setTimeout(resolve, 30_000));
  const again = await exchangeCode(op, CLIENT, code);
  checkTokenError(t, run, again, 'invalid_grant');
  // The suite calls the protected resource with the first access token: 4xx expected (a WARNING otherwise).
  const after = await userinfo(op, tokens.accessToken, 'get');
  run.warn(after.status >= 400 && after.status < 500, 'the access token issued for the reused code still works');
  t.is(after.status, 401, 'the access token issued for the code is revoked');
});
