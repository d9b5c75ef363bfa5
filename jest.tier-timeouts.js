// Jest honours `testTimeout` only at the top level of its configuration, not per project, so the
// tiers set theirs here: integration and end-to-end tests wait on real Postgres, RabbitMQ and service
// processes, and a loaded 2-core CI machine needs more than the 5 s default; each test still bounds its own waits.
const testPath = expect.getState().testPath ?? '';
jest.setTimeout(testPath.endsWith('.e2e.spec.ts') ? 120_000 : 60_000);
