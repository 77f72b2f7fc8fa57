/**
 * The unit agent side of the out-of-process simulator: a unix-socket server that answers the
 * jujuc clients on PATH from a {@link UnitAgent}, one request per connection (framing in jujuc.c).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { UnitAgent } from './agent.js';

interface Request {
  contextId: string;
  tool: string;
  args: string[];
  stdin: string;
}

/** Parse a jujuc request (framing in jujuc.c); null if incomplete or malformed. */
export function parseRequest(buf: Buffer): Request | null {
  let pos = 0;
  const line = (): string | null => {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) return null;
    const s = buf.subarray(pos, nl).toString('utf8');
    pos = nl + 1;
    return s;
  };
  if (line() !== 'JUJUC1') return null;
  const contextId = line();
  const count = Number(line());
  if (contextId === null || !Number.isInteger(count) || count < 2) return null;
  const fields: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = Number(line());
    if (!Number.isInteger(n) || pos + n > buf.length) return null;
    fields.push(buf.subarray(pos, pos + n).toString('utf8'));
    pos += n;
  }
  const [tool, ...rest] = fields;
  return { contextId, tool: tool!, args: rest.slice(0, -1), stdin: rest.at(-1) ?? '' };
}

function encodeReply(r: { exitCode: number; stdout: string; stderr: string }): Buffer {
  const out = Buffer.from(r.stdout);
  const err = Buffer.from(r.stderr);
  return Buffer.concat([Buffer.from(`${r.exitCode}\n${out.length}\n`), out, Buffer.from(`${err.length}\n`), err]);
}

export class AgentServer {
  private constructor(
    private readonly server: net.Server,
    readonly socketPath: string,
  ) {}

  /** Listen on `socketPath`; `agentFor(contextId)` picks the agent of the hook being run. */
  static async start(socketPath: string, agentFor: (contextId: string) => UnitAgent | undefined): Promise<AgentServer> {
    fs.rmSync(socketPath, { force: true });
    // Clients half-close after the request; the reply goes back on the same connection.
    const server = net.createServer({ allowHalfOpen: true }, (conn) => {
      const chunks: Buffer[] = [];
      conn.on('data', (d: Buffer) => chunks.push(d));
      conn.on('end', () => {
        const req = parseRequest(Buffer.concat(chunks));
        const agent = req ? agentFor(req.contextId) : undefined;
        const reply = !req
          ? { exitCode: 1, stdout: '', stderr: 'ERROR bad request from hook tool\n' }
          : agent
            ? agent.run(req.tool, req.args, req.stdin)
            : { exitCode: 1, stdout: '', stderr: `ERROR no hook is running for context "${req.contextId}"\n` };
        conn.end(encodeReply(reply));
      });
      conn.on('error', () => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    return new AgentServer(server, socketPath);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.socketPath, { force: true });
  }
}

/** Every hook tool the simulator answers (juju-hooks.md 7B, plus stubs that say "not implemented"). */
export const HOOK_TOOLS = [
  'action-fail', 'action-get', 'action-log', 'action-set', 'application-version-set', 'close-port', 'config-get',
  'credential-get', 'goal-state', 'is-leader', 'juju-log', 'juju-reboot', 'leader-get', 'leader-set', 'network-get',
  'open-port', 'opened-ports', 'pod-spec-get', 'pod-spec-set', 'relation-get', 'relation-ids', 'relation-list',
  'relation-model-get', 'relation-set', 'resource-get', 'secret-add', 'secret-get', 'secret-grant', 'secret-ids',
  'secret-info-get', 'secret-remove', 'secret-revoke', 'secret-set', 'state-delete', 'state-get', 'state-set',
  'status-get', 'status-set', 'storage-add', 'storage-get', 'storage-list', 'unit-get', 'add-metric',
];

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * A directory of hook-tool executables for PATH. With a C compiler, every tool is a link to a
 * compiled jujuc (a tool call then costs about a millisecond, as with Juju's own jujuc); without
 * one (or with `client: 'node'`), each tool is a shell wrapper around the Node client.
 *
 * Several processes (test workers, worktrees) may share one directory: the binary is named after a
 * hash of its source, so a client built from other source is never reused, and every entry is
 * replaced by an atomic rename, so a concurrent hook never finds a tool missing.
 */
export async function writeToolsDir(dir: string, options: { client?: 'c' | 'node' } = {}): Promise<{ dir: string; client: 'c' | 'node' }> {
  fs.mkdirSync(dir, { recursive: true });
  const source = path.join(HERE, 'jujuc.c');
  const hash = crypto.createHash('sha256').update(fs.readFileSync(source)).digest('hex').slice(0, 12);
  const binaryName = `.jujuc-${hash}`;
  const binary = path.join(dir, binaryName);
  let client: 'c' | 'node' = 'node';
  if (options.client !== 'node') {
    if (fs.existsSync(binary)) client = 'c';
    else {
      const tmp = path.join(os.tmpdir(), `jujuc-${process.pid}-${Date.now()}`);
      const cc = await execa('cc', ['-O2', '-o', tmp, source], { reject: false });
      if (cc.exitCode === 0) {
        fs.renameSync(tmp, binary);
        client = 'c';
      } else fs.rmSync(tmp, { force: true });
    }
  }
  const node = `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(HERE, 'jujuc.cjs'))}`;
  for (const tool of HOOK_TOOLS) {
    const file = path.join(dir, tool);
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    if (client === 'c') fs.symlinkSync(binaryName, tmp);
    else fs.writeFileSync(tmp, `${node} ${tool} "$@"\n`, { mode: 0o755 });
    fs.renameSync(tmp, file);
  }
  return { dir, client };
}
