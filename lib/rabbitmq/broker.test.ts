/**
 * The private broker: a real rabbitmq-server that takes AMQP connections with its own credentials
 * only, and leaves nothing behind: not after stop(), not after its owner is killed with SIGKILL.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { jest } from '@jest/globals';
import { startBroker } from './broker.js';

jest.setTimeout(90_000);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function waitUntil(what: string, fn: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('the test run shares one broker, announced in OPENCTI_TEST_AMQP_URL', async () => {
  const url = process.env.OPENCTI_TEST_AMQP_URL;
  expect(url).toMatch(/^amqp:\/\/[^:]+:[^@]+@127\.0\.0\.1:\d+\/$/);
  const conn = await amqp.connect(url as string);
  await conn.close();
});

test('a private broker takes its own credentials only, on loopback, and stop() removes it', async () => {
  const broker = await startBroker();
  expect(existsSync(broker.dir)).toBe(true);
  const conn = await amqp.connect(broker.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('q', { durable: true });
  await new Promise<void>((resolve, reject) => ch.sendToQueue('q', Buffer.from('hello'), { persistent: true }, (err) => (err ? reject(err) : resolve())));
  const got = await ch.get('q', { noAck: true });
  expect(got && got.content.toString()).toBe('hello');
  await conn.close();
  await expect(amqp.connect(`amqp://${broker.user}:wrong@127.0.0.1:${broker.port}/`)).rejects.toThrow(/ACCESS_REFUSED|403/);
  await broker.stop();
  expect(existsSync(broker.dir)).toBe(false);
  expect(await listening(broker.port)).toBe(false);
});

test('a broker whose owner is killed with SIGKILL is stopped and removed by its reaper', async () => {
  const owner = spawn(process.execPath, ['--conditions=@juju-ts/source', '--import', 'tsx', '-e', `
    const { startBroker } = await import(${JSON.stringify(path.join(ROOT, 'lib/rabbitmq/broker.ts'))});
    const b = await startBroker();
    process.stdout.write(JSON.stringify({ dir: b.dir, port: b.port }) + '\\n');
    setInterval(() => {}, 1000);
  `], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    owner.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    owner.once('exit', (code) => reject(new Error(`the owner exited (${code}) before starting its broker`)));
  });
  const { dir, port } = JSON.parse(line) as { dir: string; port: number };
  expect(await listening(port)).toBe(true);
  owner.kill('SIGKILL');
  await waitUntil('the broker to stop', async () => !(await listening(port)));
  await waitUntil('its dir to be removed', () => !existsSync(dir));
});
