/**
 * The README's main command, as a user runs it (`npm start`, here with a small dataset): the
 * synchronizer charm deployed and related in the model simulator, its real workload under the Pebble
 * emulator, until the local OpenCTI emulator holds exactly the remote's final state. The local
 * platform queues through the test run's broker (jest's global setup sets OPENCTI_TEST_AMQP_URL,
 * which the demo uses instead of starting a private one).
 */
import { execa } from 'execa';

const demo = (...args: string[]) => execa(process.execPath, ['--disable-warning=ExperimentalWarning', '--conditions=@juju-ts/source', '--import', 'tsx', 'scripts/demo.ts', ...args], { reject: false });

test('the demo synchronizes the emulated platforms end to end and exits 0', async () => {
  const r = await demo('--events', '600', '--seed', '3');
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toMatch(/juju integrate opencti opencti-synchronizer-connector/);
  // Under jest it shares the run's broker instead of starting its own.
  expect(r.stdout).toMatch(/using the test run's RabbitMQ broker \(OPENCTI_TEST_AMQP_URL\)/);
  expect(r.stdout).not.toMatch(/starting a private RabbitMQ broker/);
  expect(r.stdout).toMatch(/local vs remote: +\d+ objects identical, 0 missing, 0 extra, 0 different → EQUAL/);
  // The remote's stream keeps only its last fifth: the rest comes through the recovery mode.
  expect(r.stdout).toMatch(/\(12 reports with a file in its storage\), its stream trimmed to the last 120 events \(retention\)/);
  expect(r.stdout).toMatch(/files: +12 of 12 identical, 0 missing, 0 different → EQUAL/);
  const applied = Number(/events applied: +(\d+), (\d+) of them objects copied through the recovery mode/.exec(r.stdout)?.[1]);
  expect(r.stdout).toMatch(new RegExp(`unit status: +active "streaming, ${applied} events applied"`));
  expect(r.stdout).toMatch(/demo passed/);
  expect(r.stdout).toMatch(/local platform: +OpenCTI 7\.\d+\.\d+ \(profile 7\.x\)/);
  // Stdout ends with one JSON line: the outcome, for scripts.
  const lines = r.stdout.trimEnd().split('\n');
  const last = JSON.parse(lines.at(-1)!) as { demo: string; equal: boolean; objects: number; events: number; recovered: number };
  expect(last).toEqual({ demo: 'passed', equal: true, objects: expect.any(Number), events: 600, recovered: expect.any(Number) });
  expect(last.objects).toBeGreaterThan(0);
  // Every object was copied through the recovery mode (recover=now comes after the last event).
  expect(last.recovered).toBeGreaterThanOrEqual(last.objects);
  expect(applied).toBeGreaterThanOrEqual(last.recovered);
  expect(r.stdout).toMatch(new RegExp(`local vs remote: +${last.objects} objects identical`));
  expect(lines.filter((l) => l.startsWith('{'))).toHaveLength(1);
  // The remote token is a secret: it never shows.
  expect(r.stdout).not.toMatch(/remote-token\b(?!"|=)/);
}, 120_000);

test('a demo that does not catch up exits 1, says why, and still ends with the JSON line', async () => {
  const r = await demo('--events', '20000', '--timeout', '1');
  expect(r.exitCode).toBe(1);
  expect(r.stdout).toMatch(/the local platform did not catch up within 1s/);
  const lines = r.stdout.trimEnd().split('\n');
  expect(JSON.parse(lines.at(-1)!)).toEqual({ demo: 'failed', equal: false, objects: expect.any(Number), events: 20000, recovered: expect.any(Number) });
}, 120_000);

test('bad options exit 2 and say what is wrong', async () => {
  const r = await demo('--events', 'many');
  expect(r.exitCode).toBe(2);
  expect(r.stderr).toMatch(/--events must be a whole number from 1 to 5000000 \(got many\)/);
});

test('an unknown --profile exits 2 and names the profiles', async () => {
  const r = await demo('--profile', '6.0');
  expect(r.exitCode).toBe(2);
  expect(r.stderr).toMatch(/--profile must be one of 5\.12, 6\.9, 7\.x \(got 6\.0\)/);
  expect(r.stdout).toBe('');
});
