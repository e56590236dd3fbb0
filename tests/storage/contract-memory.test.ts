import test from 'ava';
import { MemoryStore } from '../../src/storage/memory-store.ts';
import type { ReusePolicy } from '../../src/storage/reuse-policy.ts';
import { accountRecordsSuite, contractSuite, type MakeFixture } from './contract.ts';

const memoryFixture: MakeFixture = async (reuse: ReusePolicy) => {
  const store = new MemoryStore({ reuse });
  return {
    store,
    keys: async () => store.liveKeys(),
    keysWithoutTtl: async () => store.persistentKeys(),
    durable: (k) =>
      k.startsWith('Client:') || k.startsWith('account:') || k.startsWith('username:') || k.startsWith('email:'),
  };
};

contractSuite(test, 'memory', memoryFixture);
accountRecordsSuite(test, 'memory', memoryFixture);
