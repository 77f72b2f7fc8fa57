/**
 * Build a TypeScript charm into the directory Juju runs (the "prime" tree charmcraft would zip):
 *
 *   dispatch            executable; Juju runs it for every hook and action
 *   dist/charm.cjs      the entry point: loads the bundle with V8's code cache
 *   dist/charm.bundle.cjs  the whole charm (framework included) as one file
 *   dist/charm.bundle.cjs.map  its source map (paths relative to the project, no source text)
 *   metadata.yaml       charmcraft.yaml's metadata keys, translated as charmcraft does
 *   config.yaml         charmcraft.yaml's `config` (only when it has options)
 *   actions.yaml        charmcraft.yaml's `actions` (only when there are actions)
 *
 * The charm module's default export (or its only exported CharmBase subclass, by name `Charm`) is
 * the charm class; the bundle's entry calls `main()` on it, so charm authors write no entry file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { parse as parseYaml, stringify as toYaml } from 'yaml';

const here = path.dirname(new URL(import.meta.url).pathname);

/** Keys of charmcraft.yaml that belong in metadata.yaml (charmcraft's const.py list). */
const METADATA_KEYS = [
  'name', 'summary', 'description', 'assumes', 'charm-user', 'containers', 'devices', 'display-name', 'docs',
  'extra-bindings', 'issues', 'maintainers', 'peers', 'provides', 'requires', 'resources', 'source', 'storage',
  'subordinate', 'terms', 'website',
];

/**
 * The dispatch script. Juju sets JUJU_DISPATCH_PATH and JUJU_CHARM_DIR; a Node runtime shipped in
 * the charm (bin/node, see `npm run pack`) is preferred over one on PATH. The last token of the
 * last line is the entry point, which is what charmcraft's entrypoint linter checks.
 */
export const DISPATCH = `#!/bin/sh
# Juju runs this for every hook and action (JUJU_DISPATCH_PATH says which).
JUJU_DISPATCH_PATH="\${JUJU_DISPATCH_PATH:-$0}"; export JUJU_DISPATCH_PATH
cd "\${JUJU_CHARM_DIR:-$(dirname "$0")}" || exit 1
NODE=node; [ -x ./bin/node ] && NODE=./bin/node
exec "$NODE" ./dist/charm.cjs
`;

const BUNDLE = 'charm.bundle.cjs';
/** Packages the framework imports dynamically, kept out of the hot bundle. */
const LAZY_PACKAGES = ['yaml'];

/**
 * The charm's entry point. Every hook is a new process, and most of a hook's start-up is V8
 * compiling the bundle, so the bundle runs through vm.Script with V8's code cache: the first run
 * writes the cache (after the charm ran, so it covers the functions compiled lazily), later runs
 * load it. V8 rejects a cache that does not match the source, V8 version or flags, and the loader
 * then writes a fresh one. A charm directory that cannot be written just runs without a cache.
 * Node's own compile cache (module.enableCompileCache) measured slower: it caches a script as
 * compiled, before it ran, so what a hook compiles lazily is compiled again every time (figures in
 * docs/ARCHITECTURE.md).
 */
export const CHARM_LOADER = `#!/usr/bin/env node
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire, wrap } = require('node:module');
const file = path.join(__dirname, '${BUNDLE}');
const cacheFile = file + '.v8cache';
let cachedData;
try { cachedData = fs.readFileSync(cacheFile); } catch {}
const script = new vm.Script(wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData });
if (!cachedData || script.cachedDataRejected) {
  process.once('exit', () => {
    try {
      const tmp = cacheFile + '.' + process.pid;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    } catch {}
  });
}
// Stack traces point at the charm's sources: a frame in the bundle is mapped through its source
// map (written by the build, paths relative to the charm project), read only when a stack is
// formatted, so a hook that throws nothing never reads it. (Node maps only module-loaded code,
// not code run through vm.Script.)
const prefix = wrap('').length - '\\n});'.length;
let sourceMap;
function original(line, column) {
  if (sourceMap === undefined) {
    try { sourceMap = new (require('node:module').SourceMap)(JSON.parse(fs.readFileSync(file + '.map', 'utf8'))); } catch { sourceMap = null; }
  }
  const e = sourceMap && sourceMap.findEntry(line - 1, (line === 1 ? column - prefix : column) - 1);
  return e && e.originalSource ? e.originalSource + ':' + (e.originalLine + 1) + ':' + (e.originalColumn + 1) : undefined;
}
const at = file + ':';
function mapFrame(text) {
  const i = text.indexOf(at);
  const m = i < 0 ? null : /^(\\d+):(\\d+)/.exec(text.slice(i + at.length));
  const o = m && original(+m[1], +m[2]);
  return o ? text.slice(0, i) + o + text.slice(i + at.length + m[0].length) : text;
}
Error.prepareStackTrace = (error, frames) => {
  let head;
  try { head = String(error); } catch { head = 'Error'; }
  return head + frames.map((f) => '\\n    at ' + mapFrame(String(f))).join('');
};
const mod = { exports: {} };
script.runInThisContext()(mod.exports, createRequire(file), mod, file, __dirname);
`;

export interface CharmBuildOptions {
  /** Directory holding the charm's charmcraft.yaml. */
  projectDir: string;
  /** The charm module, relative to projectDir (default: src/charm.ts, else charm/charm.ts). */
  entry?: string;
  /** Where to write the charm tree (created; existing files are replaced). */
  outDir: string;
  minify?: boolean;
}

export interface BuiltCharm {
  dir: string;
  name: string;
  charmcraft: Record<string, unknown>;
}

export function readCharmcraft(projectDir: string): Record<string, unknown> {
  const file = path.join(projectDir, 'charmcraft.yaml');
  if (!fs.existsSync(file)) throw new Error(`${file} not found: a charm project needs a charmcraft.yaml`);
  const doc = parseYaml(fs.readFileSync(file, 'utf8'));
  if (!doc || typeof doc !== 'object') throw new Error(`${file} is empty or not a YAML mapping`);
  return doc as Record<string, unknown>;
}

/** charmcraft's metadata.yaml translation (title → display-name, links → docs/issues/...). */
export function metadataFromCharmcraft(doc: Record<string, unknown>): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  for (const k of METADATA_KEYS) if (doc[k] !== undefined) meta[k] = doc[k];
  if (doc.title !== undefined) meta['display-name'] = doc.title;
  const links = (doc.links ?? {}) as Record<string, unknown>;
  if (links.documentation !== undefined) meta.docs = links.documentation;
  if (links.contact !== undefined) meta.maintainers = Array.isArray(links.contact) ? links.contact : [links.contact];
  for (const k of ['issues', 'source', 'website']) if (links[k] !== undefined) meta[k] = links[k];
  return meta;
}

/** The text of metadata.yaml, config.yaml (if options) and actions.yaml (if actions) for a charm. */
export function metadataFiles(doc: Record<string, unknown>): Partial<Record<'metadata.yaml' | 'config.yaml' | 'actions.yaml', string>> {
  const files: Partial<Record<'metadata.yaml' | 'config.yaml' | 'actions.yaml', string>> = { 'metadata.yaml': toYaml(metadataFromCharmcraft(doc)) };
  const options = (doc.config as { options?: Record<string, unknown> } | undefined)?.options;
  if (options && Object.keys(options).length) files['config.yaml'] = toYaml({ options });
  if (doc.actions && Object.keys(doc.actions).length) files['actions.yaml'] = toYaml(doc.actions);
  return files;
}

export function resolveEntry(projectDir: string, entry?: string): string {
  const candidates = entry ? [entry] : ['src/charm.ts', 'charm/charm.ts'];
  for (const c of candidates) {
    const p = path.resolve(projectDir, c);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`no charm module in ${projectDir} (looked for ${candidates.join(', ')})`);
}

/**
 * The custom export conditions this Node process resolves packages with (`--conditions`, also
 * through NODE_OPTIONS), so the bundle holds the same modules the process would load. Inside this
 * project's checkout that is `@juju-ts/source`: the packages' TypeScript sources instead of their
 * compiled dist/. Elsewhere it is usually none.
 */
export function nodeConditions(argv: readonly string[] = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]): string[] {
  const found: string[] = [];
  argv.forEach((arg, i) => {
    const inline = /^(?:--conditions|-C)=(.+)$/.exec(arg);
    if (inline) found.push(inline[1]!);
    else if ((arg === '--conditions' || arg === '-C') && argv[i + 1]) found.push(argv[i + 1]!);
  });
  return found;
}

/**
 * Source-map paths relative to the charm project (`src/charm.ts`, `node_modules/@juju-ts/ops/...`)
 * rather than to the build folder, so a stack trace names the file as the author knows it.
 */
function relativeSourceMap(mapFile: string, projectDir: string): void {
  const map = JSON.parse(fs.readFileSync(mapFile, 'utf8')) as { sources: string[] };
  map.sources = map.sources.map((s) => path.relative(path.resolve(projectDir), path.resolve(path.dirname(mapFile), s)).split(path.sep).join('/'));
  fs.writeFileSync(mapFile, JSON.stringify(map));
}

export async function buildCharm(options: CharmBuildOptions): Promise<BuiltCharm> {
  const doc = readCharmcraft(options.projectDir);
  const name = String(doc.name ?? '');
  if (!name) throw new Error(`${options.projectDir}/charmcraft.yaml has no name`);
  const entry = resolveEntry(options.projectDir, options.entry);
  const out = path.resolve(options.outDir);
  fs.mkdirSync(path.join(out, 'dist'), { recursive: true });

  // The metadata files this build writes, embedded so a dispatch need not parse YAML (see meta.ts).
  const files = metadataFiles(doc);
  // Validate now, with the framework's own schemas: the embedded copy is trusted at dispatch.
  const { CharmMeta } = await import('@juju-ts/ops');
  new CharmMeta(parseYaml(files['metadata.yaml']!), parseYaml(files['config.yaml'] ?? '{}'), parseYaml(files['actions.yaml'] ?? '{}'), `${options.projectDir}/charmcraft.yaml`);
  const embedded = { files, parsed: Object.fromEntries(Object.entries(files).map(([f, t]) => [f, parseYaml(t)])) };
  const stub = [
    `import * as charmModule from ${JSON.stringify(entry)};`,
    "import { main } from '@juju-ts/ops';",
    'const exported = { ...charmModule };',
    'const Charm = exported.default ?? exported.Charm;',
    `if (typeof Charm !== 'function') throw new Error(${JSON.stringify(`${path.relative(options.projectDir, entry)} must export its charm class as default (or as Charm)`)});`,
    `void main(Charm, { embeddedMetadata: ${JSON.stringify(embedded)}, ...(exported.mainOptions ?? {}) });`,
  ].join('\n');
  fs.rmSync(path.join(out, 'dist'), { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'dist'), { recursive: true });

  // One CommonJS file run through the code-cache loader below (see CHARM_LOADER). Packages the
  // framework only loads on demand (import() of yaml) become files of their own in
  // dist/lazy/, so a hook that does not need them neither reads nor caches their code.
  const common = {
    bundle: true,
    platform: 'node' as const,
    format: 'cjs' as const,
    target: 'node24',
    minify: options.minify ?? true,
    legalComments: 'none' as const,
    logLevel: 'warning' as const,
    conditions: nodeConditions(),
  };
  await build({
    ...common,
    // Handle paths (deferred events, stored state) are built from class names, so identifiers are
    // not minified. (esbuild's keepNames would wrap every function of the bundle instead: about
    // 5 ms more per hook, measured with bench:hook --instructions.)
    minify: false,
    minifyWhitespace: options.minify ?? true,
    minifySyntax: options.minify ?? true,
    stdin: { contents: stub, resolveDir: path.dirname(entry), sourcefile: 'charm-entry.ts', loader: 'ts' },
    outfile: path.join(out, 'dist', BUNDLE),
    // A linked map without the sources' text: the loader maps stack frames to file:line:column.
    sourcemap: 'linked',
    sourcesContent: false,
    plugins: [
      {
        name: 'lazy-packages',
        setup(b) {
          // import('yaml') → a tiny bundled module that require()s dist/lazy/yaml.cjs, which
          // esbuild evaluates only when the import() runs (vm.Script has no import() of its own).
          b.onResolve({ filter: new RegExp(`^(${LAZY_PACKAGES.join('|')})$`) }, (a) =>
            a.kind === 'dynamic-import' ? { path: a.path, namespace: 'lazy-package' } : undefined,
          );
          b.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (a) => ({
            contents: `module.exports = require(${JSON.stringify(`./lazy/${a.path}.cjs`)});`,
            loader: 'js',
          }));
          b.onResolve({ filter: /^\.\/lazy\// }, (a) => ({ path: a.path, external: true }));
          // import('node:x') the same way: required when the import() runs, not at start-up.
          b.onResolve({ filter: /^node:/ }, (a) => (a.kind === 'dynamic-import' ? { path: a.path, namespace: 'lazy-builtin' } : { path: a.path, external: true }));
          b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => ({ contents: `module.exports = require(${JSON.stringify(a.path)});`, loader: 'js' }));
        },
      },
    ],
  });
  for (const pkg of LAZY_PACKAGES) {
    await build({
      ...common,
      stdin: { contents: `export * from ${JSON.stringify(pkg)};`, resolveDir: here, sourcefile: `${pkg}-lazy.ts`, loader: 'ts' },
      outfile: path.join(out, 'dist', 'lazy', `${pkg}.cjs`),
    });
  }
  // The bundle runs inside vm.Script, which has no import(): every dynamic import must have been
  // turned into a require() by the lazy-packages plugin above.
  const bundled = fs.readFileSync(path.join(out, 'dist', BUNDLE), 'utf8');
  const leftover = /\bimport\(\s*["'`]([^"'`]+)/.exec(bundled);
  if (leftover) {
    throw new Error(`charm bundle keeps a dynamic import of "${leftover[1]}"; import it statically or add it to LAZY_PACKAGES in @juju-ts/charm-tools (src/build/charm.ts)`);
  }
  relativeSourceMap(path.join(out, 'dist', `${BUNDLE}.map`), options.projectDir);
  // The entry point must be executable with a shebang (charmcraft's entrypoint linter).
  fs.writeFileSync(path.join(out, 'dist', 'charm.cjs'), CHARM_LOADER, { mode: 0o755 });
  fs.chmodSync(path.join(out, 'dist', 'charm.cjs'), 0o755);
  fs.writeFileSync(path.join(out, 'dispatch'), DISPATCH, { mode: 0o755 });
  fs.chmodSync(path.join(out, 'dispatch'), 0o755);
  for (const f of ['metadata.yaml', 'config.yaml', 'actions.yaml'] as const) {
    const text = files[f];
    if (text === undefined) fs.rmSync(path.join(out, f), { force: true });
    else fs.writeFileSync(path.join(out, f), text);
  }
  for (const extra of ['README.md', 'LICENSE', 'icon.svg']) {
    const src = path.join(options.projectDir, extra);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(out, extra));
  }
  return { dir: out, name, charmcraft: doc };
}
