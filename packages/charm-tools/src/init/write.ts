/**
 * Putting a rendered charm in place without leaving half of one behind: the files are written to
 * a temporary directory next to the target, then renamed into place. A new target appears whole
 * or not at all; with --force each generated file replaces its old self in one rename, and files
 * the scaffolder does not write are left alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ScaffoldError } from './errors.js';

export interface WriteResult {
  target: string;
  /** Paths written, relative to the target. */
  files: string[];
  /** Of those, the ones that replaced an existing file (--force). */
  replaced: string[];
}

/**
 * Write `files` (relative path → text) to `target`. `replace` allows an existing target directory
 * (the caller checked --force); without it an existing target is an error and nothing is written.
 */
export function writeFiles(target: string, files: Record<string, string>, { replace = false }: { replace?: boolean } = {}): WriteResult {
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const staging = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.scaffold-`));
  const names = Object.keys(files).sort();
  const replaced: string[] = [];
  try {
    for (const name of names) {
      const file = path.join(staging, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, files[name]!);
    }
    if (!fs.existsSync(target)) {
      fs.renameSync(staging, target);
      return { target, files: names, replaced };
    }
    if (!replace) throw new ScaffoldError([`target ${target} already exists; pass --force to replace the files the scaffolder writes there`]);
    for (const name of names) {
      const dest = path.join(target, name);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      if (fs.existsSync(dest)) replaced.push(name);
      fs.renameSync(path.join(staging, name), dest);
    }
    return { target, files: names, replaced };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
