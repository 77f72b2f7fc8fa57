/** What to run after a new charm project is written, where it was written. */
import fs from 'node:fs';
import path from 'node:path';

/** The nearest folder above `dir` whose node_modules holds the framework packages, if any. */
export function workspaceRoot(dir: string): string | undefined {
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'node_modules', '@juju-ts', 'ops', 'package.json'))) return d;
  }
  return undefined;
}

/**
 * Inside a checkout that has the framework packages (this project's), its test command runs the
 * new charm's tests; elsewhere the charm installs the packages itself.
 */
export function nextStep(target: string, cwd: string): string {
  const checkout = workspaceRoot(target);
  if (!checkout) return `next: cd ${path.relative(cwd, target) || '.'} && npm install && npm test`;
  const from = checkout === path.resolve(cwd) ? '' : `  (from ${checkout})`;
  return `next: npm test -- ${path.relative(checkout, target)}${from}`;
}
