// ava runs the TypeScript tests directly on Node's built-in type stripping (Node 22.18+/24):
// no transpiler dependency, and the code under test is the code that ships.
export default {
  files: ['tests/**/*.test.ts'],
  extensions: { ts: 'module' },
  timeout: '120s',
  workerThreads: false,
  concurrency: 2,
};
