/**
 * The request's storage scope (src/storage/prefetch-scope.ts): a value offered for decoding on demand is decoded
 * only when someone asks for it, once however often it is asked for, and served once by `take`; a decoding error
 * reaches only the one who asked.
 */
import test from 'ava';
import { StorageScope } from '../../src/storage/prefetch-scope.ts';
import { defined } from '../helpers/defined.ts';

test('offerDecoded: nothing is decoded until asked for; peek keeps it, take serves it once; decoded once', async (t) => {
  const scope = new StorageScope();
  let decoded = 0;
  scope.offerDecoded('Grant:g', () => {
    decoded++;
    return { value: { jti: 'g' } };
  });
  scope.offerDecoded('Session:uid:never-asked', () => {
    decoded += 100;
    return { value: undefined };
  });
  t.is(decoded, 0);
  t.deepEqual(await scope.peek('Grant:g'), { value: { jti: 'g' } });
  t.deepEqual(await scope.take('Grant:g'), { value: { jti: 'g' } });
  t.is(scope.take('Grant:g'), undefined, 'served once');
  t.is(decoded, 1, 'decoded once; what nobody asked for never');
});

test('offerDecoded: a value that does not decode rejects for the one who asks, and nothing else', async (t) => {
  const scope = new StorageScope();
  scope.offerDecoded('account:a', () => JSON.parse('{broken'));
  await t.throwsAsync(defined(scope.take('account:a'), 'the offered read'), { instanceOf: SyntaxError });
});
