/**
 * Start the OpenCTI emulator pair on chosen ports:
 *   npm run emulator -- --remote-port 4001 --local-port 4000 [--events 1000] [--heartbeat-ms 5000] [--seed 1]
 * Prints the URLs and tokens, then serves until Ctrl-C. The local platform queues through a RabbitMQ
 * broker: OPENCTI_TEST_AMQP_URL when set, otherwise a private one started here and stopped on exit
 * (Debian's rabbitmq-server, lib/rabbitmq/broker.ts; scripts/setup.sh installs it).
 */
import { parseArgs } from 'node:util';
import { startOpenctiEmulator } from '../lib/opencti-emulator/index.js';
import { startBroker, type Broker } from '../lib/rabbitmq/broker.js';

const USAGE = 'usage: npm run emulator -- --remote-port N --local-port M [--events K] [--heartbeat-ms MS] [--seed S] [--host H]';

function intArg(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) {
    process.stderr.write(`--${name} must be a non-negative integer (got "${v}")\n${USAGE}\n`);
    process.exit(2);
  }
  return Number(v);
}

const { values } = parseArgs({
  options: {
    'remote-port': { type: 'string' },
    'local-port': { type: 'string' },
    events: { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    seed: { type: 'string' },
    host: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const remotePort = intArg('remote-port', values['remote-port'], 0);
const localPort = intArg('local-port', values['local-port'], 0);
const heartbeatMs = intArg('heartbeat-ms', values['heartbeat-ms'], 5000);
let broker: Broker | undefined;
let amqpUrl = process.env.OPENCTI_TEST_AMQP_URL;
if (!amqpUrl) {
  try {
    broker = await startBroker();
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
  amqpUrl = broker.url;
}
const emu = await startOpenctiEmulator({ remotePort, localPort, heartbeatMs, host: values.host ?? '127.0.0.1', amqpUrl }).catch(async (e: unknown) => {
  await broker?.stop();
  throw e;
});
const n = intArg('events', values.events, 0);
if (n > 0) emu.seed(n, intArg('seed', values.seed, 1));
process.stdout.write(
  [
    `remote stream: ${emu.remoteUrl}/stream/live   (REMOTE_OPENCTI_URL=${emu.remoteUrl} REMOTE_OPENCTI_TOKEN=${emu.remoteToken})`,
    `local GraphQL: ${emu.localUrl}/graphql   (OPENCTI_URL=${emu.localUrl} OPENCTI_TOKEN=${emu.localToken})`,
    `broker:        ${broker ? `a private RabbitMQ on 127.0.0.1:${broker.port} (stopped on exit)` : 'OPENCTI_TEST_AMQP_URL'}`,
    `events seeded: ${emu.remote.size}; Ctrl-C to stop`,
    '',
  ].join('\n'),
);
const shutdown = async () => {
  const c = emu.compare();
  process.stdout.write(`\nlocal store vs remote final state: ${c.equal ? 'equal' : 'DIFFERENT'} (same ${c.same}, missing ${c.missing}, extra ${c.extra}, different ${c.different})\n`);
  await emu.stop();
  await broker?.stop();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
