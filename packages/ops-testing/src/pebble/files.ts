// The files API (P:daemon/api_files.go) over a host directory that stands for the container's
// root. Paths in requests and answers are container paths; errors read like Go's os errors
// ("stat /etc/x: no such file or directory") with the container path, never the host one.
import { promises as fsp, type Stats } from 'node:fs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BadPatternError, goPathMatch } from './gomatch.js';

export interface FileError {
  message: string;
  kind: 'not-found' | 'permission-denied' | 'generic-file-error';
}

export interface FileResult {
  path: string;
  error?: FileError;
}

/** An error with the Go-style message and the errno it came from. */
export class GoFileError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'file exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ENOTEMPTY: 'directory not empty',
  EINVAL: 'invalid argument',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EXDEV: 'invalid cross-device link',
};

function goError(op: string, containerPath: string, e: unknown): GoFileError {
  const code = (e as NodeJS.ErrnoException).code;
  const text = (code && ERRNO_TEXT[code]) ?? (e as Error).message;
  return new GoFileError(`${op} ${containerPath}: ${text}`, code);
}

// The alphabet of x-go's randutil.RandomString (no vowels), which names AtomicWrite's temp files.
const TMP_LETTERS = 'BCDFGHJKLMNPQRSTVWXYbcdfghjklmnpqrstvwxy0123456789';

/** The suffix osutil.NewAtomicFile gives its temporary file: "." + 12 random letters + "~". */
function atomicTmpSuffix(): string {
  const bytes = randomBytes(12);
  return '.' + Array.from(bytes, (b) => TMP_LETTERS[b % TMP_LETTERS.length]).join('') + '~';
}

/** stat(2) of a host path, failing like Go's os.Stat on the container path. */
async function statGo(host: string, containerPath: string): Promise<Stats> {
  try {
    return await fsp.stat(host);
  } catch (e) {
    throw goError('stat', containerPath, e);
  }
}

/** Map an error to the API's {kind, message} (fileErrorToResult). */
export function toFileError(e: unknown): FileError {
  const code = e instanceof GoFileError ? e.code : (e as NodeJS.ErrnoException).code;
  const kind = code === 'EACCES' || code === 'EPERM' ? 'permission-denied' : code === 'ENOENT' ? 'not-found' : 'generic-file-error';
  return { message: (e as Error).message, kind };
}

/** HTTP status for a list error (fileErrorToStatus). */
export function fileErrorStatus(e: unknown): number {
  const { kind } = toFileError(e);
  return kind === 'not-found' ? 404 : kind === 'permission-denied' ? 403 : 400;
}

function parsePermissions(permissions: string | undefined, def: number): number {
  if (permissions === undefined || permissions === '') return def;
  if (!/^[0-7]{3}$/.test(permissions)) {
    throw new GoFileError(`permissions must be a 3-digit octal string, got ${JSON.stringify(permissions)}`, undefined);
  }
  return Number.parseInt(permissions, 8);
}

function readIdNames(file: string): Map<number, string> {
  const m = new Map<number, string>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && f[0] && f[2]) m.set(Number(f[2]), f[0]);
    }
  } catch {
    // no names available
  }
  return m;
}

/** Go's path.Match on one entry name; a malformed pattern is a generic file error (400). */
function matchName(pattern: string, name: string): boolean {
  try {
    return goPathMatch(pattern, name);
  } catch (e) {
    if (e instanceof BadPatternError) throw new GoFileError(e.message, undefined);
    throw e;
  }
}

/**
 * osutil.AtomicWriteChown with AtomicWriteChmod (P:internals/osutil/io.go): create
 * "<path>.<random>~" exclusively, chmod it, write, fsync, rename it over the target. Each step's
 * error names the file that step touched, so most errors name the temporary file, as Pebble's do
 * (`open /etc/app/x.BCd3…~: no such file or directory`); the temporary file is removed on error.
 */
async function atomicWrite(host: string, containerPath: string, content: Buffer, mode: number): Promise<void> {
  const suffix = atomicTmpSuffix();
  const tmp = { host: host + suffix, shown: containerPath + suffix };
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(tmp.host, 'wx', mode);
  } catch (e) {
    throw goError('open', tmp.shown, e);
  }
  let step = 'chmod';
  try {
    await fh.chmod(mode);
    step = 'write';
    await fh.writeFile(content);
    step = 'sync';
    await fh.sync();
    step = 'close';
    await fh.close();
    step = 'rename';
    await fsp.rename(tmp.host, host);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp.host, { force: true }).catch(() => undefined);
    if (step === 'rename') {
      const code = (e as NodeJS.ErrnoException).code;
      throw new GoFileError(`rename ${tmp.shown} ${containerPath}: ${(code && ERRNO_TEXT[code]) ?? (e as Error).message}`, code);
    }
    throw goError(step, tmp.shown, e);
  }
}

export class ContainerFiles {
  constructor(readonly rootDir: string) {}

  /** Host path for a container path; the result never escapes rootDir. */
  hostPath(containerPath: string): string {
    const normal = path.posix.normalize('/' + containerPath);
    return path.join(this.rootDir, normal);
  }

  private checkAbs(p: string): void {
    if (!p.startsWith('/')) throw new GoFileError(`paths must be absolute, got ${JSON.stringify(p)}`, undefined);
  }

  /** Contents of a regular file, or a Go-style error. */
  async read(p: string): Promise<Buffer> {
    this.checkAbs(p);
    const host = this.hostPath(p);
    const st = await statGo(host, p);
    if (!st.isFile()) throw new GoFileError(`can only read a regular file: ${JSON.stringify(p)}`, undefined);
    try {
      return await fsp.readFile(host);
    } catch (e) {
      throw goError('open', p, e);
    }
  }

  /** The list result of one path (a directory's entries, or the path itself). */
  async list(p: string, pattern: string, itself: boolean): Promise<Record<string, unknown>[]> {
    const host = this.hostPath(p);
    const st = await statGo(host, p);
    let entries: Array<{ name: string; full: string; hostFull: string }>;
    if (!st.isDirectory() || itself) {
      entries = [{ name: path.posix.basename(p) || '/', full: p, hostFull: host }];
    } else {
      let names: string[];
      try {
        names = (await fsp.readdir(host)).sort();
      } catch (e) {
        throw goError('open', p, e);
      }
      entries = names.map((name) => ({ name, full: path.posix.join(p, name), hostFull: path.join(host, name) }));
    }
    const users = readIdNames('/etc/passwd');
    const groups = readIdNames('/etc/group');
    const out: Record<string, unknown>[] = [];
    for (const entry of entries) {
      if (pattern && !matchName(pattern, entry.name)) continue;
      let s: Stats;
      try {
        s = await fsp.lstat(entry.hostFull);
      } catch (e) {
        throw goError('lstat', entry.full, e);
      }
      const type = s.isFile()
        ? 'file'
        : s.isDirectory()
          ? 'directory'
          : s.isSymbolicLink()
            ? 'symlink'
            : s.isSocket()
              ? 'socket'
              : s.isFIFO()
                ? 'named-pipe'
                : s.isBlockDevice() || s.isCharacterDevice()
                  ? 'device'
                  : 'unknown';
      const info: Record<string, unknown> = { path: entry.full, name: entry.name, type };
      if (s.isFile()) info['size'] = s.size;
      info['permissions'] = (s.mode & 0o777).toString(8).padStart(3, '0');
      info['last-modified'] = new Date(Math.floor(s.mtimeMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
      info['user-id'] = s.uid;
      info['user'] = users.get(s.uid) ?? '';
      info['group-id'] = s.gid;
      info['group'] = groups.get(s.gid) ?? '';
      out.push(info);
    }
    return out;
  }

  /** Write a file atomically (temp file + rename), creating parents with make-dirs. */
  async write(item: { path: string; 'make-dirs'?: boolean; permissions?: string }, content: Buffer): Promise<void> {
    this.checkAbs(item.path);
    const host = this.hostPath(item.path);
    if (item['make-dirs']) {
      try {
        await fsp.mkdir(path.dirname(host), { recursive: true, mode: 0o755 });
      } catch (e) {
        const err = goError('mkdir', path.posix.dirname(item.path), e);
        throw new GoFileError(`cannot create directory: ${err.message}`, err.code);
      }
    }
    const mode = parsePermissions(item.permissions, 0o644);
    await atomicWrite(host, item.path, content, mode);
  }

  async makeDir(item: { path: string; 'make-parents'?: boolean; permissions?: string }): Promise<void> {
    this.checkAbs(item.path);
    const mode = parsePermissions(item.permissions, 0o755);
    const host = this.hostPath(item.path);
    try {
      if (item['make-parents']) {
        await fsp.mkdir(host, { recursive: true, mode });
        await fsp.chmod(host, mode);
      } else {
        await fsp.mkdir(host, { mode });
        await fsp.chmod(host, mode);
      }
    } catch (e) {
      throw goError('mkdir', item.path, e);
    }
  }

  async remove(item: { path: string; recursive?: boolean }): Promise<void> {
    this.checkAbs(item.path);
    const host = this.hostPath(item.path);
    try {
      if (item.recursive) {
        await fsp.rm(host, { recursive: true, force: true });
        return;
      }
      const st = await fsp.lstat(host);
      if (st.isDirectory()) await fsp.rmdir(host);
      else await fsp.unlink(host);
    } catch (e) {
      throw goError('remove', item.path, e);
    }
  }
}
