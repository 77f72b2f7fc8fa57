// Compiles the workspace packages (packages/*) to dist/: JavaScript, .d.ts and source maps, in
// dependency order, since each package type-checks against the compiled declarations of those it
// depends on (as an installed copy would). Files tsc does not emit (the C hook-tool client) are
// copied beside the modules that read them.
//
// `--if-changed` skips the compile when every dist/ was compiled from the sources as they are now:
// each dist/ holds the hash of what it was compiled from (every package's src/, package.json and
// tsconfig, the shared tsconfig and TypeScript's version). tests/packages.test.ts uses it, so a run
// after `npm run build` does not compile the same sources twice.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Dependency order: each entry depends only on entries before it. */
export const PACKAGES = ['ops', 'charm-tools', 'ops-testing', 'opencti-connector'];
/** Non-TypeScript files a package reads at run time, relative to its src/. */
const ASSETS = { 'ops-testing': ['juju/jujuc.c', 'juju/jujuc.cjs'] };
/** In each dist/: the hash of the sources it was compiled from. */
const STAMP = '.sources.sha256';

/** The hash of everything the compiled packages depend on, file names and contents. */
function sourcesHash() {
  const hash = createHash('sha256');
  const add = (file) => hash.update(path.relative(root, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  add(path.join(root, 'tsconfig.base.json'));
  add(path.join(root, 'node_modules', 'typescript', 'package.json'));
  for (const name of PACKAGES) {
    const dir = path.join(root, 'packages', name);
    add(path.join(dir, 'package.json'));
    add(path.join(dir, 'tsconfig.build.json'));
    const files = fs.readdirSync(path.join(dir, 'src'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
    for (const f of files.sort()) add(f);
  }
  return hash.digest('hex');
}

const hash = sourcesHash();
const stampOf = (name) => path.join(root, 'packages', name, 'dist', STAMP);
const upToDate = PACKAGES.every((name) => fs.existsSync(stampOf(name)) && fs.readFileSync(stampOf(name), 'utf8') === hash);
if (process.argv.includes('--if-changed') && upToDate) {
  console.log(`build-packages: ${PACKAGES.length} packages up to date`);
} else {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const name of PACKAGES) {
    const dir = path.join(root, 'packages', name);
    fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
    execFileSync(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.build.json')], { stdio: 'inherit' });
    for (const asset of ASSETS[name] ?? []) fs.copyFileSync(path.join(dir, 'src', asset), path.join(dir, 'dist', asset));
    fs.writeFileSync(stampOf(name), hash);
  }
  console.log(`build-packages: ${PACKAGES.length} packages compiled`);
}
