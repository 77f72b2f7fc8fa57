/**
 * Jest's TypeScript transform: esbuild strips the types of each file on its own, as ts-jest did with
 * isolatedModules (no type-check here: `npm run typecheck` / `npm run build` does that with tsc).
 * ts-jest loaded the TypeScript compiler in every worker and took about 0.1-1 s per file; esbuild
 * takes a few milliseconds, which a cold run (CI, a fresh cache) pays once per test file and module.
 *
 * Output: ES modules (jest runs in native ESM mode, see package.json "test"), ES2022 as tsconfig's
 * target, with an inline source map so stack traces name the TypeScript lines.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { transformSync, version } from 'esbuild';

// The options tsc would use for one file (tsconfig.base.json), with verbatimModuleSyntax off as
// ts-jest had it: an import used only as a type is dropped.
const TSCONFIG = { compilerOptions: { target: 'ES2022', useDefineForClassFields: true, verbatimModuleSyntax: false } };

// Part of every cache key: a change to this file or to esbuild's version invalidates jest's cache.
const SELF = createHash('sha256').update(readFileSync(new URL(import.meta.url))).update(version).digest('hex');

export default {
  process(source, filename) {
    const { code, map } = transformSync(source, {
      loader: filename.endsWith('.tsx') ? 'tsx' : 'ts',
      format: 'esm',
      target: 'es2022',
      sourcefile: filename,
      sourcemap: 'external',
      sourcesContent: false,
      tsconfigRaw: TSCONFIG,
    });
    return { code, map };
  },
  getCacheKey(source, filename, { configString }) {
    return createHash('sha256').update(SELF).update('\0').update(filename).update('\0').update(source).update('\0').update(configString).digest('hex');
  },
};
