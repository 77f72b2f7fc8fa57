/**
 * The README's main command, as a user runs it (`npm start`, here with a small dataset): the
 * synchronizer charm deployed and related in the model simulator, its real workload under the Pebble
 * emulator, until the local OpenCTI emulator holds exactly the remote's final state.
 */
import { execa } from 'execa';

const demo = (...args: string[]) => execa(process.execPath, ['--disable-warning=ExperimentalWarning', '--import', 'tsx', 'scripts/demo.ts', ...args], { reject: false });

test('the demo synchronizes the emulated platforms end to end and exits 0', async () => {
  const r = await demo('--events', '600', '--seed', '3');
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toMatch(/juju integrate opencti opencti-synchronizer-connector/);
  expect(r.stdout).toMatch(/local vs remote: +\d+ objects identical, 0 missing, 0 extra, 0 different → EQUAL/);
  expect(r.stdout).toMatch(/events synced: +600 of 600/);
  expect(r.stdout).toMatch(/unit status: +active "streaming, 600 events applied"/);
  expect(r.stdout).toMatch(/demo passed/);
  // The remote token is a secret: it never shows.
  expect(r.stdout).not.toMatch(/remote-token\b(?!"|=)/);
}, 120_000);

test('bad options exit 2 and say what is wrong', async () => {
  const r = await demo('--events', 'many');
  expect(r.exitCode).toBe(2);
  expect(r.stderr).toMatch(/--events must be a whole number from 1 to 5000000 \(got many\)/);
});
