// A charm's error, run out of process as Juju runs it, points at the charm's TypeScript source:
// the build writes a source map beside the bundle and the loader maps stack frames through it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCharm } from '@juju-ts/charm-tools';
import { on, runCharm } from '@juju-ts/ops-testing';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const CHARM = `import { CharmBase, type Framework } from '@juju-ts/ops';

export default class FailingCharm extends CharmBase {
  constructor(framework: Framework) {
    super(framework);
    this.observe(this.on.configChanged, this.onConfigChanged);
  }

  async onConfigChanged(): Promise<void> {
    await this.model.config();
    throw new Error('the charm failed here');
  }
}
`;

test('an uncaught error names src/charm.ts with the line and column of the throw', async () => {
  // Inside the checkout, so @juju-ts/ops resolves from its node_modules.
  fs.mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
  const project = fs.mkdtempSync(path.join(ROOT, 'tmp', 'source-maps-'));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'source-maps-built-'));
  try {
    fs.mkdirSync(path.join(project, 'src'));
    fs.writeFileSync(path.join(project, 'src/charm.ts'), CHARM);
    fs.writeFileSync(path.join(project, 'charmcraft.yaml'), 'name: failing\ntype: charm\nsummary: fails\ndescription: fails\n');
    const built = await buildCharm({ projectDir: project, outDir: out });
    const map = JSON.parse(fs.readFileSync(path.join(built.dir, 'dist/charm.bundle.cjs.map'), 'utf8')) as { sources: string[]; sourcesContent?: unknown };
    expect(map.sources).toContain('src/charm.ts');
    expect(map.sourcesContent).toBeUndefined();

    const r = await runCharm({ charmDir: built.dir, event: on.configChanged(), state: {} });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Error: the charm failed here\n\s+at FailingCharm\.onConfigChanged \(src\/charm\.ts:11:11\)/);
    expect(r.stderr).not.toMatch(/charm\.bundle\.cjs:\d+/);
  } finally {
    fs.rmSync(project, { recursive: true, force: true });
    fs.rmSync(out, { recursive: true, force: true });
  }
}, 60_000);
