/**
 * The docs do not drift from the code: every block a doc includes with
 * `<!-- include: <path> -->` must equal that file, and every file named that way exists (those
 * files are themselves run: tests by jest, scenarios by tests/sim-cli.test.ts). After changing an
 * included file, `npm run docs:includes` refreshes the docs.
 */
import fs from 'node:fs';
import path from 'node:path';

const DOCS = fs.readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f)).concat('README.md');

for (const doc of DOCS) {
  const text = fs.readFileSync(doc, 'utf8');
  const includes = [...text.matchAll(/<!-- include: (\S+) -->\n```\w*\n([\s\S]*?)```/g)];
  if (includes.length === 0) continue;
  describe(doc, () => {
    for (const [, file, block] of includes) {
      test(`the block included from ${file} is that file, verbatim`, () => {
        expect(block).toBe(fs.readFileSync(file!, 'utf8'));
      });
    }
  });
}

test('docs link only to files that exist', () => {
  for (const doc of DOCS) {
    for (const [, target] of fs.readFileSync(doc, 'utf8').matchAll(/\]\(([^)#:]+)(?:#[^)]*)?\)/g)) {
      expect({ doc, target, exists: fs.existsSync(path.resolve(path.dirname(doc), target!)) }).toEqual({ doc, target, exists: true });
    }
  }
});
