/**
 * Test harness for the hook-tool conformance suites: the tools run the way a charm runs them, as
 * executables on PATH (the compiled jujuc, or the Node client) talking over the unix socket to an
 * AgentServer that answers from a UnitAgent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';
import { CharmMeta } from '@juju-ts/ops';
import { parseState, type StateInput } from '../state.js';

type RelationInput = NonNullable<StateInput['relations']>[number];
import { UnitAgent, type HookContext } from './agent.js';
import { AgentServer, writeToolsDir } from './server.js';

export const META = CharmMeta.fromCharmcraft(
  parseYaml(`
name: web
requires: { db: { interface: pg } }
provides: { website: { interface: http } }
peers: { cluster: { interface: replicas } }
config:
  options:
    port: { type: int, default: 8080 }
    name: { type: string }
    ratio: { type: float, default: 0.5 }
    debug: { type: boolean, default: false }
    password: { type: secret }
actions:
  backup: { params: { target: { type: string } } }
resources:
  image: { type: oci-image }
`) as Record<string, unknown>,
);

export const MODEL_UUID = '00000000-0000-4000-8000-000000000000';

/** A remote relation with two units, a peer relation with one other unit, and one with no units yet. */
export const RELATIONS: RelationInput[] = [
  {
    id: 3,
    endpoint: 'db',
    remoteAppName: 'pg',
    localAppData: { mine: 'app' },
    localUnitData: { host: 'web-0' },
    remoteAppData: { url: 'pg://x', '<tag>': 'a&b' },
    remoteUnitsData: { '0': { host: 'pg-0' }, '1': { host: 'pg-1' } },
  },
  { id: 5, endpoint: 'cluster', remoteAppName: 'web', localAppData: { shared: 'yes' }, remoteUnitsData: { '1': { host: 'web-1' } } },
  { id: 12, endpoint: 'website', remoteAppName: 'proxy', remoteUnitsData: {} },
];

export interface Result {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class ToolHarness {
  agent!: UnitAgent;
  private constructor(
    private readonly server: AgentServer,
    private readonly tmp: string,
    readonly toolsDir: string,
    readonly client: 'c' | 'node',
  ) {}

  static async start(options: { client?: 'c' | 'node' } = {}): Promise<ToolHarness> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jujuc-conf-'));
    const shared = path.join(os.tmpdir(), `charm-sim-tools-conformance-${process.getuid?.() ?? 0}`);
    const tools = await writeToolsDir(options.client === 'node' ? path.join(tmp, 'tools') : shared, options);
    let harness: ToolHarness | undefined;
    const server = await AgentServer.start(path.join(tmp, 'agent.sock'), (id) => (id === 'ctx-1' ? harness?.agent : undefined));
    harness = new ToolHarness(server, tmp, tools.dir, tools.client);
    harness.use({});
    return harness;
  }

  /** A fresh agent for a new simulated hook. */
  use(state: StateInput, ctx: Partial<HookContext> = {}): UnitAgent {
    this.agent = new UnitAgent(parseState(state), { unitName: 'web/0', meta: META, charmDir: this.tmp, now: () => new Date('2025-01-02T03:04:05.678Z'), ...ctx });
    return this.agent;
  }

  /** Run a hook tool as a charm does: an executable found on PATH, with argv and stdin. */
  async run(tool: string, args: string[] = [], input = ''): Promise<Result> {
    const r = await execa(tool, args, {
      env: {
        PATH: `${this.toolsDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        JUJU_AGENT_SOCKET_ADDRESS: path.join(this.tmp, 'agent.sock'),
        JUJU_CONTEXT_ID: 'ctx-1',
      },
      extendEnv: false,
      input,
      reject: false,
      stripFinalNewline: false,
      encoding: 'utf8',
    });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** A file in the harness's scratch directory. */
  file(name: string, content: string): string {
    const p = path.join(this.tmp, name);
    fs.writeFileSync(p, content);
    return p;
  }

  async stop(): Promise<void> {
    await this.server.stop();
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

export const ok = (stdout = ''): Result => ({ exitCode: 0, stdout, stderr: '' });
export const usageError = (message: string): Result => ({ exitCode: 2, stdout: '', stderr: `ERROR ${message}\n` });
export const runError = (message: string): Result => ({ exitCode: 1, stdout: '', stderr: `ERROR ${message}\n` });
