/**
 * Jest's global setup: one private RabbitMQ broker for the whole test run (Debian's rabbitmq-server,
 * see lib/rabbitmq/broker.ts), shared by the test files through OPENCTI_TEST_AMQP_URL; each
 * local platform emulator keeps its queues apart with a name prefix of its own. A broker given in
 * OPENCTI_TEST_AMQP_URL already is used as it is. The teardown stops it, on a failed run too; the
 * broker's reaper removes it if jest itself is killed.
 *
 * Plain JS: jest loads this file natively, outside its module system, so the TypeScript module is
 * imported through tsx's loader.
 */
import { register } from 'tsx/esm/api';

export default async function globalSetup() {
  if (process.env.OPENCTI_TEST_AMQP_URL) return;
  const unregister = register();
  try {
    const { startBroker } = await import('../lib/rabbitmq/broker.ts');
    const broker = await startBroker();
    globalThis.__OPENCTI_TEST_BROKER__ = broker;
    process.env.OPENCTI_TEST_AMQP_URL = broker.url;
  } finally {
    await unregister();
  }
}
