/**
 * The workload containers of a simulated unit: one Pebble emulator per container in the State,
 * each a real HTTP server on `<dir>/<container>/pebble.socket` (Juju's layout under a root
 * directory with `rootDir`), so the charm's Pebble client runs unchanged. A container with `canConnect: false` has no socket, as in Kubernetes before the
 * container is up. After the hook, the emulators are read back into the State.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PebbleEmulator, type EmulatorMode } from './pebble/index.js';
import type { ContainerState } from './state.js';

export interface ContainerSetOptions {
  /** The directory of the `<container>/pebble.socket`s (keep it short: socket paths ≤ 107 bytes). */
  dir?: string;
  /**
   * Instead of `dir`: the root under which Juju's layout is made, sockets at
   * `<rootDir>/charm/containers/<container>/pebble.socket`. `/` is Juju's own path.
   */
  rootDir?: string;
  /** Where the containers' files live, `<filesDir>/<container>` (default `<dir>/<container>/root`). */
  filesDir?: string;
  /** `fake` (default): services do not really run. `run`: they do. */
  mode?: EmulatorMode;
  /** Run mode: container path prefix → host path for commands. */
  pathMap?: Record<string, string>;
  /** Run mode: the emulated Pebble's own environment. */
  env?: Record<string, string | undefined>;
}

export class ContainerSet {
  private constructor(
    readonly dir: string,
    readonly emulators: Map<string, PebbleEmulator>,
    private readonly roots: Map<string, string>,
  ) {}

  static async start(states: readonly ContainerState[], options: ContainerSetOptions): Promise<ContainerSet> {
    const dir = options.dir ?? path.join(options.rootDir ?? fail('ContainerSet needs dir or rootDir'), JUJU_CONTAINERS_DIR);
    const emulators = new Map<string, PebbleEmulator>();
    const roots = new Map<string, string>();
    try {
      for (const c of states) {
        const root = options.filesDir ? path.join(options.filesDir, c.name) : path.join(dir, c.name, 'root');
        fs.mkdirSync(root, { recursive: true });
        for (const [p, content] of Object.entries(c.files)) {
          const host = path.join(root, p);
          fs.mkdirSync(path.dirname(host), { recursive: true });
          fs.writeFileSync(host, content);
        }
        const emu = await PebbleEmulator.start({
          socketPath: path.join(dir, c.name, 'pebble.socket'),
          mode: options.mode ?? 'fake',
          rootDir: root,
          pathMap: options.pathMap,
          env: options.env,
          ready: true,
        });
        emu.seed({ layers: c.layers as never, serviceStatuses: c.serviceStatuses, checkStatuses: c.checkStatuses });
        if (!c.canConnect) await emu.setReady(false);
        emulators.set(c.name, emu);
        roots.set(c.name, root);
      }
    } catch (e) {
      await Promise.all([...emulators.values()].map((e2) => e2.stop()));
      throw e;
    }
    return new ContainerSet(dir, emulators, roots);
  }

  /** The containers as they are now, in State form (with the combined plan). */
  snapshot(): ContainerState[] {
    return [...this.emulators].map(([name, emu]) => ({
      name,
      canConnect: emu.ready,
      layers: Object.fromEntries(emu.layers) as ContainerState['layers'],
      plan: emu.plan as ContainerState['plan'],
      serviceStatuses: Object.fromEntries(emu.services.map((s) => [s.name, s.current])),
      checkStatuses: Object.fromEntries(emu.checks.filter((c) => c.status !== 'inactive').map((c) => [c.name, c.status as 'up' | 'down'])),
      files: readTree(this.roots.get(name)!),
    }));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.emulators.values()].map((e) => e.stop()));
  }
}

/** Where Juju mounts the Pebble sockets in a charm container, relative to its root. */
export const JUJU_CONTAINERS_DIR = 'charm/containers';

function fail(message: string): never {
  throw new Error(message);
}

/** Every regular file under `root`, keyed by its path inside the container. */
function readTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out[`/${path.relative(root, p)}`] = fs.readFileSync(p, 'utf8');
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out;
}
