import test from 'ava';
import { MemoryStore } from '../../src/storage/memory-store.ts';
import { contractSuite } from './contract.ts';

contractSuite(test, 'memory', async (reuse) => {
  const store = new MemoryStore({ reuse });
  return {
    store,
    keys: async () => store.liveKeys(),
    keysWithoutTtl: async () => store.persistentKeys(),
    durable: (k) => k.startsWith('Client:') || k.startsWith('account:') || k.startsWith('username:'),
  };
});
