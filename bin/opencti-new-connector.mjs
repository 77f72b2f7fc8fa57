#!/usr/bin/env node
// The scaffolder as an installed command of this checkout (package.json "bin"): runs
// scripts/new-connector.ts with the checkout's tsx, resolving the workspace packages to their
// sources (the @juju-ts/source condition, which a Node process can only be given at start-up).
// Same arguments as `npm run new --`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../scripts/new-connector.ts', import.meta.url));
// tsx resolved from this file, so the command runs in the caller's directory.
const tsx = import.meta.resolve('tsx');
const run = spawnSync(process.execPath, ['--conditions=@juju-ts/source', '--disable-warning=ExperimentalWarning', '--import', tsx, script, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exitCode = run.status ?? 1;
