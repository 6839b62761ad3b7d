/** @type {import('jest').Config} */
const ignore = ['/node_modules/'];
if (!process.env.MONGODB_URI) {
  // Suites named *.mongo.test.ts need a MongoDB wire-protocol server
  // (CI starts FerretDB and sets MONGODB_URI). Everything else always runs.
  if (!(process.env.ESEAL_TEST_REQUIRE || '').split(',').includes('mongo')) {
    ignore.push('\.mongo\.test\.ts$');
    process.stdout.write('store contract: mongo skipped — set MONGODB_URI to run it (CI starts FerretDB)\n');
  }
}

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ignore,
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 60000,
  // 2 workers match CI's 2 cores.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/tests/helpers/store-count-reporter.js'],
};
