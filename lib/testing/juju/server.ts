/**
 * The unit agent side of the out-of-process simulator: a unix-socket server that answers the
 * jujuc clients on PATH from a {@link UnitAgent}, one JSON request per connection.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { UnitAgent } from './agent.js';

const requestSchema = z.object({ tool: z.string(), args: z.array(z.string()), stdin: z.string(), contextId: z.string() });

export class AgentServer {
  private constructor(
    private readonly server: net.Server,
    readonly socketPath: string,
  ) {}

  /** Listen on `socketPath`; `agentFor(contextId)` picks the agent of the hook being run. */
  static async start(socketPath: string, agentFor: (contextId: string) => UnitAgent | undefined): Promise<AgentServer> {
    fs.rmSync(socketPath, { force: true });
    const server = net.createServer((conn) => {
      let buf = '';
      conn.setEncoding('utf8');
      conn.on('data', (d) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        let reply;
        try {
          const req = requestSchema.parse(JSON.parse(buf.slice(0, nl)));
          const agent = agentFor(req.contextId);
          reply = agent
            ? agent.run(req.tool, req.args, req.stdin)
            : { exitCode: 1, stdout: '', stderr: `ERROR no hook is running for context "${req.contextId}"\n` };
        } catch (e) {
          reply = { exitCode: 1, stdout: '', stderr: `ERROR bad request from hook tool: ${(e as Error).message}\n` };
        }
        conn.end(JSON.stringify(reply));
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

const JUJUC = path.join(path.dirname(fileURLToPath(import.meta.url)), 'jujuc.cjs');

/**
 * A directory of hook-tool executables for PATH: one small shell wrapper per tool around the
 * jujuc client. Created once per directory and reused.
 */
export function writeToolsDir(dir: string, client = JUJUC): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const tool of HOOK_TOOLS) {
    const file = path.join(dir, tool);
    const body = `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(client)} ${tool} "$@"\n`;
    if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== body) fs.writeFileSync(file, body, { mode: 0o755 });
  }
  return dir;
}
