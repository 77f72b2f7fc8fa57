// Compiles the workspace packages (packages/*) to dist/: JavaScript, .d.ts and source maps, in
// dependency order, since each package type-checks against the compiled declarations of those it
// depends on (as an installed copy would). Files tsc does not emit (the C hook-tool client) are
// copied beside the modules that read them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Dependency order: each entry depends only on entries before it. */
export const PACKAGES = ['ops', 'charm-tools', 'ops-testing', 'opencti-connector'];
/** Non-TypeScript files a package reads at run time, relative to its src/. */
const ASSETS = { 'ops-testing': ['juju/jujuc.c', 'juju/jujuc.cjs'] };

const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
for (const name of PACKAGES) {
  const dir = path.join(root, 'packages', name);
  fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.build.json')], { stdio: 'inherit' });
  for (const asset of ASSETS[name] ?? []) fs.copyFileSync(path.join(dir, 'src', asset), path.join(dir, 'dist', asset));
}
console.log(`build-packages: ${PACKAGES.length} packages compiled`);
