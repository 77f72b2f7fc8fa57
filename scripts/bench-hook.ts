/**
 * Hook start-up benchmark: the example charm bundled as Juju would run it, through its dispatch
 * with the simulator's hook tools, against `node -e 0` measured in the same run.
 *
 *   npm run bench:hook [-- --runs 30] [--instructions]   (-- --help: the options)
 *
 * Wall-clock medians are what the target is about; on a shared machine they move with the load,
 * so --instructions also counts instructions with valgrind (deterministic, load-independent).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { buildCharm } from '@juju-ts/charm-tools';
import { command } from '@juju-ts/charm-tools/cli';
import { on } from '@juju-ts/ops-testing';
import { runCharm, type RunCharmResult } from '@juju-ts/ops-testing';
import { median } from './bench-stats.js';

const { runs, instructions } = command(
  {
    name: 'bench:hook',
    usage: 'npm run bench:hook -- [options]',
    summary: `Hook start-up benchmark: the example charm (examples/tiny), bundled as Juju would run it, through its
dispatch with the simulator's hook tools, against \`node -e 0\` measured in the same run; prints the
medians and whether the no-op hook is within 1.5x of node -e 0.`,
    options: {
      runs: { type: 'string', default: '30', value: 'N', help: 'runs of each measurement' },
      instructions: { type: 'boolean', help: 'also count instructions with valgrind (load-independent; needs valgrind)' },
    },
    footer: 'Exit codes: 0 measured, 1 a hook or valgrind failed, 2 bad options.',
  },
  process.argv.slice(2),
  (a) => ({ runs: a.int('runs', 1, 10_000), instructions: a.flag('instructions') }),
);

async function timeNode(args: string[]): Promise<number> {
  const t = performance.now();
  // The same clean environment a hook gets (runCharm builds Juju's from scratch).
  await execa(process.execPath, args, { extendEnv: false, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' } });
  return performance.now() - t;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-hook-'));
  await buildCharm({ projectDir: 'examples/tiny', outDir: dir });
  const unitDir = path.join(dir, 'unit');
  const emptyModule = path.join(dir, 'empty.mjs');
  fs.writeFileSync(emptyModule, '');
  const samples = { node: [] as number[], empty: [] as number[], noop: [] as number[], config: [] as number[] };
  let calls = { noop: 0, config: 0 };
  const hook = async (event: ReturnType<typeof on.updateStatus>): Promise<RunCharmResult> => {
    const r = await runCharm({ charmDir: dir, unitDir, event, state: { config: { greeting: 'hi' } } });
    if (r.exitCode !== 0) throw new Error(`hook failed: ${r.stderr}`);
    return r;
  };
  // Warm-up: page cache, the tools directory.
  await timeNode(['-e', '0']);
  await hook(on.configChanged());
  // Interleave them all so machine noise hits all of them alike.
  for (let i = 0; i < runs; i++) {
    samples.node.push(await timeNode(['-e', '0']));
    samples.empty.push(await timeNode([emptyModule]));
    const noop = await hook(on.updateStatus());
    samples.noop.push(noop.durationMs);
    calls.noop = noop.toolCalls.length;
    const cfg = await hook(on.configChanged());
    samples.config.push(cfg.durationMs);
    calls.config = cfg.toolCalls.length;
  }
  let counts: { node: number; hook: number } | undefined;
  if (instructions) counts = await countInstructions(unitDir);
  fs.rmSync(dir, { recursive: true, force: true });
  const base = median(samples.node);
  const row = (name: string, xs: number[], n?: number) =>
    `${name.padEnd(34)} ${median(xs).toFixed(1).padStart(8)} ms ${(median(xs) / base).toFixed(2).padStart(6)}x ${n === undefined ? '' : String(n).padStart(6)}`;
  console.log(`hook benchmark: ${runs} runs each, medians, node ${process.version}`);
  console.log(`${'what'.padEnd(34)} ${'median'.padStart(11)} ${'ratio'.padStart(7)} ${'tools'.padStart(6)}`);
  console.log(row('node -e 0 (baseline)', samples.node));
  console.log(row('node empty.mjs (second baseline)', samples.empty));
  console.log(row('no-op hook (update-status)', samples.noop, calls.noop));
  console.log(row('config-changed (status from config)', samples.config, calls.config));
  const ratio = median(samples.noop) / base;
  console.log(`target: no-op hook <= 1.5x node -e 0: ${ratio <= 1.5 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x)`);
  if (counts) {
    console.log(`instructions (valgrind): node -e 0 ${(counts.node / 1e6).toFixed(1)} M, no-op hook ${(counts.hook / 1e6).toFixed(1)} M, ratio ${(counts.hook / counts.node).toFixed(2)}x`);
  }
}

/** Instruction counts of `node -e 0` and of the no-op hook's node process, under callgrind. */
async function countInstructions(unitDir: string): Promise<{ node: number; hook: number }> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    JUJU_DISPATCH_PATH: 'hooks/update-status',
    JUJU_HOOK_NAME: 'update-status',
    JUJU_UNIT_NAME: 'tiny/0',
    JUJU_MODEL_NAME: 'bench',
    JUJU_MODEL_UUID: '00000000-0000-4000-8000-000000000000',
    JUJU_VERSION: '3.6.14',
    JUJU_CHARM_DIR: unitDir,
  };
  const count = async (args: string[]) => {
    const r = await execa('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', ...args], { extendEnv: false, env, reject: false, cwd: unitDir });
    const m = /Collected : (\d+)/.exec(r.stderr);
    if (!m) throw new Error(`valgrind gave no count: ${r.stderr.slice(-300)}`);
    return Number(m[1]);
  };
  return { node: await count([process.execPath, '-e', '0']), hook: await count([process.execPath, path.join(unitDir, 'dist', 'charm.cjs')]) };
}

try {
  await main();
} catch (e) {
  console.error(`bench:hook: ${(e as Error).message}`);
  process.exitCode = 1;
}
