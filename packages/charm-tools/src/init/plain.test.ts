// The plain starter's output is committed as examples/my-app (the author guide includes its files,
// and the checkout's tests compile and run them): it must be what the starter writes today.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_TOOL_VERSIONS, FRAMEWORK_VERSION, renderPlainCharm, ScaffoldError } from './index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

test('examples/my-app is what juju-ts-init writes today, file for file (regenerate: npm run init -- my-app --dir examples/my-app --force)', () => {
  const files = renderPlainCharm({ name: 'my-app' });
  const dir = path.join(ROOT, 'examples/my-app');
  const committed = (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[]).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  expect(committed.sort()).toEqual(Object.keys(files).sort());
  for (const [file, text] of Object.entries(files)) expect({ file, upToDate: fs.readFileSync(path.join(dir, file), 'utf8') === text }).toEqual({ file, upToDate: true });
});

test('a generated project pins the framework at its own version and the tools this checkout is tested with', () => {
  const root = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const own = JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/charm-tools/package.json'), 'utf8')) as { version: string };
  expect(FRAMEWORK_VERSION).toBe(own.version);
  for (const [tool, version] of Object.entries(DEV_TOOL_VERSIONS)) expect({ tool, version }).toEqual({ tool, version: root.devDependencies[tool] });
  const pkg = JSON.parse(renderPlainCharm({ name: 'x' })['package.json']!) as { dependencies: Record<string, string> };
  expect(pkg.dependencies).toEqual({ '@juju-ts/ops': own.version });
});

test('a name that is not kebab case is refused, naming the rule', () => {
  expect(() => renderPlainCharm({ name: 'My_App' })).toThrow(ScaffoldError);
  expect(() => renderPlainCharm({ name: 'My_App' })).toThrow(/name "My_App" is not kebab case/);
});
