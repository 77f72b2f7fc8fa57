// Helpers shared by the Pebble tests: short-lived socket directories and raw HTTP requests
// over a unix socket (to check the emulator's answers byte for byte, without our client).
import http from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Container } from '@juju-ts/ops';
import { PebbleEmulator, type PebbleEmulatorOptions } from './emulator.js';

/** A fresh directory for sockets (kept short: unix socket paths are limited to 107 bytes). */
export function tempDir(prefix = 'pb-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RawReply {
  status: number;
  statusText: string;
  contentType: string;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** One HTTP request over a unix socket, returning the raw reply. */
export function rawRequest(
  socketPath: string,
  method: string,
  urlPath: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          contentType: String(res.headers['content-type'] ?? ''),
          text,
          json,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POST a JSON body. */
export function postJson(socketPath: string, urlPath: string, body: unknown): Promise<RawReply> {
  return rawRequest(socketPath, 'POST', urlPath, JSON.stringify(body), { 'Content-Type': 'application/json' });
}

/** Whether a process (or process group, with a negative id) exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Poll `fn` (real time) until it returns true, or fail with `what` after `timeoutMs`. */
export async function eventually(fn: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Live (not zombie) processes of a process group, read from /proc. Zombies are dead: they only
 * wait for their new parent (PID 1, which in some sandboxes never reaps) to collect them.
 */
export function liveGroupMembers(pgid: number): number[] {
  const live: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp ...": comm may contain spaces, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') live.push(Number(entry));
  }
  return live;
}

/**
 * Per-test Pebble emulators (fake mode unless told otherwise) in a fresh socket directory, with
 * a client Container for each; all stopped and the directory removed after every test.
 */
export function emulatorFixture(): {
  readonly dir: string;
  start(opts?: Partial<PebbleEmulatorOptions>): Promise<{ emu: PebbleEmulator; c: Container }>;
} {
  let tmp: ReturnType<typeof tempDir> | undefined;
  const emulators: PebbleEmulator[] = [];
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(async () => {
    for (const e of emulators.splice(0)) await e.stop();
    tmp?.cleanup();
  });
  const dir = (): string => {
    if (!tmp) throw new Error('emulatorFixture: used outside a test');
    return tmp.dir;
  };
  return {
    get dir() {
      return dir();
    },
    async start(opts = {}) {
      const socketPath = path.join(dir(), `c${emulators.length}`, 'pebble.socket');
      const emu = await PebbleEmulator.start({ socketPath, mode: 'fake', ...opts });
      emulators.push(emu);
      return { emu, c: new Container('c', { socketPath }) };
    },
  };
}
