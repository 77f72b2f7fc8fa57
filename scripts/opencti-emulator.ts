/**
 * Start the OpenCTI emulator pair on chosen ports:
 *   npm run emulator -- --remote-port 4001 --local-port 4000 [--events 1000] [--heartbeat-ms 5000] [--seed 1] [--host H]
 *   npm run emulator -- --help
 * Prints the URLs and tokens, then serves until Ctrl-C. The local platform queues through a RabbitMQ
 * broker: OPENCTI_TEST_AMQP_URL when set, otherwise a private one started here and stopped on exit
 * (Debian's rabbitmq-server, lib/rabbitmq/broker.ts; scripts/setup.sh installs it).
 */
import { command } from '@juju-ts/charm-tools/cli';
import type { Broker } from '../lib/rabbitmq/broker.js';

const opts = await command(
  {
    name: 'emulator',
    usage: 'npm run emulator -- [options]',
    summary: `Starts the OpenCTI emulator pair: a remote platform (its live stream, seeded with events) and a local
one (GraphQL API, workers, queues on RabbitMQ: OPENCTI_TEST_AMQP_URL when set, otherwise a private
broker started here and stopped on exit). Prints their URLs and tokens, then serves until Ctrl-C,
when it prints whether the local store equals the remote's final state.`,
    options: {
      'remote-port': { type: 'string', default: '0', value: 'N', help: "the remote platform's port (0: any free port)" },
      'local-port': { type: 'string', default: '0', value: 'N', help: "the local platform's port (0: any free port)" },
      events: { type: 'string', default: '0', value: 'K', help: 'events to seed the remote with' },
      'heartbeat-ms': { type: 'string', default: '5000', value: 'MS', help: "the remote stream's heartbeat interval" },
      seed: { type: 'string', default: '1', value: 'S', help: "the event generator's seed" },
      host: { type: 'string', default: '127.0.0.1', value: 'H', help: 'the address both listen on' },
    },
    footer: 'Exit codes: 0 stopped with Ctrl-C, 1 the broker or an emulator did not start, 2 bad options.',
  },
  process.argv.slice(2),
  (a) => ({
    remotePort: a.int('remote-port', 0, 65535),
    localPort: a.int('local-port', 0, 65535),
    events: a.int('events', 0),
    heartbeatMs: a.int('heartbeat-ms', 1),
    seed: a.int('seed', 0),
    host: a.string('host')!,
  }),
);

// Loaded once the options are checked: --help and a bad option answer without loading the emulators and the broker.
const [{ startOpenctiEmulator }, { startBroker }] = await Promise.all([import('../lib/opencti-emulator/index.js'), import('../lib/rabbitmq/broker.js')]);
const { remotePort, localPort, heartbeatMs } = opts;
/** A start-up failure (no rabbitmq-server, a port in use): its message, not a stack trace. */
function startFailed(e: unknown): never {
  process.stderr.write(`emulator: ${(e as Error).message}\n`);
  process.exit(1);
}
let broker: Broker | undefined;
let amqpUrl = process.env.OPENCTI_TEST_AMQP_URL;
if (!amqpUrl) {
  broker = await startBroker().catch(startFailed);
  amqpUrl = broker.url;
}
const emu = await startOpenctiEmulator({ remotePort, localPort, heartbeatMs, host: opts.host, amqpUrl }).catch(async (e: unknown) => {
  await broker?.stop();
  return startFailed(e);
});
if (opts.events > 0) emu.seed(opts.events, opts.seed);
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
