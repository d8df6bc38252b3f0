// Four projects: `unit` runs the pure domain with no I/O; `integration:pglite` and
// `integration:postgres` run every database-backed, end-to-end and security test (test/security:
// hostile requests replayed through the real server) once per backend, each
// test file on a database of its own (test/support/database.ts); `faults` injects failures into
// real server processes on PostgreSQL. PGlite loads its WebAssembly through dynamic import(),
// which jest's VM sandbox allows only with --experimental-vm-modules, so `npm test` sets that flag.
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    },
    module: { type: 'commonjs' },
  },
];

const common = {
  testEnvironment: 'node',
  setupFiles: ['reflect-metadata'],
  transform: { '^.+\\.(t|j)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(jose)/)'],
};

module.exports = {
  // Integration files start a database and a server; on a busy 2-core machine that can take seconds.
  testTimeout: 60000,
  // Two test files at once, also on 2 cores (jest's default there is one: cores - 1). A file
  // spends most of its time waiting on its server, its database or its clock, so two overlap:
  // the clean-clone suite took 1,496 s with one worker.
  maxWorkers: 2,
  // Test files run in a worker that is replaced once it holds more than this after a file. In one
  // long-lived process the PGlite instances, servers and module registries of earlier files piled
  // up: files that take 5 s alone took 30 s late in the run (the whole suite: 930 s, against
  // 779 s with this; CPU time 16 min against 10).
  workerIdleMemoryLimit: '1GB',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    ...['pglite', 'postgres'].map((backend) => ({
      ...common,
      displayName: `integration:${backend}`,
      testMatch: ['<rootDir>/test/{integration,e2e,security}/**/*.test.ts'],
      globals: { __DB_BACKEND__: backend },
      // Runs only when one of this project's tests is selected, so unit runs need no database.
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    })),
    // Fault injection (test/faults): real server processes killed, a PostgreSQL of the test's own
    // stopped and its connections ended, two instances racing, overload. Real PostgreSQL only.
    {
      ...common,
      displayName: 'faults',
      testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
      globals: { __DB_BACKEND__: 'postgres' },
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
