/** Jest's global teardown: stop the broker the global setup started (tests/global-setup.mjs). */
export default async function globalTeardown() {
  await globalThis.__OPENCTI_TEST_BROKER__?.stop();
  globalThis.__OPENCTI_TEST_BROKER__ = undefined;
}
