/**
 * A private RabbitMQ broker for tests, benchmarks and the demo: Debian's `rabbitmq-server`, started
 * as a node of its own (own node name, AMQP, distribution and epmd ports, config, data and log
 * directories, all under one temp dir), and stopped and removed afterwards: by `stop()`, on the
 * process's exit or Ctrl-C, and, when this process dies without running any handler (kill -9, a
 * crashed test runner), by a small reaper process that watches it.
 *
 * Nothing here touches a system broker: the Debian package's service is never used, and every
 * variable the broker's scripts read (RABBITMQ_*, ERL_EPMD_*, HOME for the Erlang cookie) is set.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { freePort } from '@juju-ts/ops-testing';
import { linkCoreApps } from './core-apps.js';

/** Where Debian's package installs the broker's own start script (not the /usr/sbin wrapper, which switches user). */
export const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const EPMD_CANDIDATES = ['/usr/bin/epmd', '/usr/lib/erlang/bin/epmd'];

export interface BrokerOptions {
  /** Parent of the broker's temp dir. Default: /dev/shm when it exists (no disk syncs), else the OS temp dir. */
  root?: string;
  /** Give up if the broker is not accepting AMQP connections after this long. Default 60 s. */
  startTimeoutMs?: number;
}

export interface Broker {
  /** amqp://user:pass@127.0.0.1:port/ */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly pass: string;
  readonly vhost: string;
  /** The broker's temp dir (config, data, logs); removed by stop(). */
  readonly dir: string;
  /** The broker's log so far (its stdout and stderr), for failure messages. */
  log(): string;
  /** Freeze the broker (SIGSTOP): it neither answers nor drops connections, as a hung broker. */
  pause(): void;
  /** Let a paused broker go on (SIGCONT). */
  resume(): void;
  stop(): Promise<void>;
}

export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
}

/** Whether Debian's rabbitmq-server is installed here. */
export function brokerInstalled(): boolean {
  return existsSync(RABBITMQ_SERVER);
}

function epmdBinary(): string {
  return EPMD_CANDIDATES.find((p) => existsSync(p)) ?? 'epmd';
}

/** Resolves once the broker completes an AMQP handshake with these credentials, or rejects after `ms`. */
async function waitForAmqp(url: string, ms: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      const conn = await amqp.connect(url);
      await conn.close();
      return;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (!alive()) throw new BrokerUnavailableError('the broker exited during start-up');
    if (Date.now() > deadline) throw new BrokerUnavailableError(`the broker did not accept AMQP connections within ${ms} ms (last error: ${last})`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/**
 * A detached shell that outlives this process: once our pid is gone, it kills the broker's process
 * group, stops its epmd and removes its dir. stop() kills the reaper first when it cleans up itself.
 */
function startReaper(brokerPgid: number, epmdPort: number, dir: string): ChildProcess {
  const script = [
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done`,
    `kill -KILL -${brokerPgid} 2>/dev/null`,
    `ERL_EPMD_PORT=${epmdPort} ${epmdBinary()} -port ${epmdPort} -kill >/dev/null 2>&1`,
    `rm -rf '${dir}'`,
  ].join('; ');
  const reaper = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  reaper.unref();
  return reaper;
}

function writeConfig(dir: string, port: number, user: string, pass: string): void {
  writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(path.join(dir, 'rabbitmq-env.conf'), '');
  writeFileSync(
    path.join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = 127.0.0.1:${port}`,
      `default_user = ${user}`,
      `default_pass = ${pass}`,
      'default_vhost = /',
      // Messages up to the platform's own limit (opencti's rabbitmq max message size is large).
      'max_message_size = 536870912',
      // Classic queues of version 2 (RabbitMQ 3.10+; the default from 4.0, which OpenCTI's own
      // deployments run): about a quarter less broker CPU per message here.
      'classic_queue.default_version = 2',
      'log.console = true',
      'log.console.level = warning',
      'log.file = false',
      '',
    ].join('\n'),
  );
}

/** The environment the broker's scripts read; nothing inherited that could point at a system broker. */
function brokerEnv(dir: string, port: number, distPort: number, epmdPort: number, node: string, pluginsDir: string | undefined): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    LANG: 'C.UTF-8',
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    // Lets `epmd -kill` stop this epmd even while it still lists the node (after a SIGKILL).
    ERL_EPMD_RELAXED_COMMAND_CHECK: '1',
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbitmq.pid'),
    RABBITMQ_LOGS: '-',
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    // Only the applications the broker runs on (core-apps.ts): a faster start.
    ...(pluginsDir ? { RABBITMQ_PLUGINS_DIR: pluginsDir } : {}),
  };
}

/**
 * Start a private broker. Throws BrokerUnavailableError (with the install command) when Debian's
 * rabbitmq-server is not installed, or with the broker's log when it does not come up.
 */
export async function startBroker(opts: BrokerOptions = {}): Promise<Broker> {
  if (!brokerInstalled()) {
    throw new BrokerUnavailableError(`RabbitMQ is not installed (${RABBITMQ_SERVER} is missing): install Debian's broker with \`sudo apt-get update && sudo apt-get install -y rabbitmq-server\` (the tests, the benchmark and the demo start a private instance of it; no system service is used)`);
  }
  const root = opts.root ?? (existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  const dir = mkdtempSync(path.join(root, 'opencti-rabbitmq-'));
  mkdirSync(path.join(dir, 'log'));
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  const node = `opencti-test-${path.basename(dir).slice(-6).toLowerCase()}@localhost`;
  const user = 'opencti';
  const pass = randomBytes(12).toString('hex');
  writeConfig(dir, port, user, pass);

  const pluginsDir = linkCoreApps(RABBITMQ_SERVER, dir);
  const child = spawn(RABBITMQ_SERVER, [], { env: brokerEnv(dir, port, distPort, epmdPort, node, pluginsDir), cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const pgid = child.pid as number;
  const reaper = startReaper(pgid, epmdPort, dir);
  let exited = false;
  const exitedP = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));

  const killNow = () => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    spawnSync(epmdBinary(), ['-port', String(epmdPort), '-kill'], { env: { ERL_EPMD_PORT: String(epmdPort) }, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  // On a normal exit (or an uncaught error) nothing async runs any more: kill synchronously.
  const onExit = () => killNow();
  process.once('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', onExit);
      try {
        process.kill(-pgid, 'SIGCONT');
        process.kill(-pgid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const t = setTimeout(() => {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000);
      await exitedP;
      clearTimeout(t);
      try {
        if (reaper.pid) process.kill(reaper.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      killNow();
    })();
    return stopping;
  };

  try {
    await waitForAmqp(`amqp://${user}:${pass}@127.0.0.1:${port}/`, opts.startTimeoutMs ?? 60_000, () => !exited);
  } catch (e) {
    const log = output;
    await stop();
    throw new BrokerUnavailableError(`${(e as Error).message}; its log:\n${log.split('\n').slice(-30).join('\n')}`);
  }
  return {
    url: `amqp://${user}:${pass}@127.0.0.1:${port}/`,
    host: '127.0.0.1',
    port,
    user,
    pass,
    vhost: '/',
    dir,
    log: () => output,
    pause: () => process.kill(-pgid, 'SIGSTOP'),
    resume: () => process.kill(-pgid, 'SIGCONT'),
    stop,
  };
}

/** The broker a test run shares (started by jest's global setup), from the environment; undefined if none. */
export function sharedBrokerFromEnv(env: NodeJS.ProcessEnv = process.env): { url: string } | undefined {
  const url = env.OPENCTI_TEST_AMQP_URL;
  return url ? { url } : undefined;
}
