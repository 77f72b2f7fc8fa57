// Bundles every runnable artefact into dist/ with esbuild: one file per program, so a hook or a
// workload process starts by loading a single module. `tsc` type-checks separately (npm run build).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Programs bundled as single ESM files. Add a line per program. */
export const targets = [
  { entry: 'charm/sync/main.ts', outfile: 'dist/sync/sync.mjs' },
];

/** Bundle one program. Node built-ins stay external; everything else is inlined. */
export async function bundle({ entry, outfile, minify = true }) {
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify,
    sourcemap: false,
    // The workspace packages' TypeScript sources (see tsconfig.json), not their compiled dist/.
    conditions: ['@juju-ts/source'],
    legalComments: 'none',
    logLevel: 'warning',
    // Bundled CommonJS dependencies may call require(); give ESM output a real one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const t of targets) await bundle(t);
  console.log(`build: ${targets.length} bundle(s) written`);
}
