// Refresh every `<!-- include: <path> -->` block in docs/*.md and README.md from its file.
// tests/docs.test.ts fails when a block and its file differ; run this to update the docs.
import fs from 'node:fs';
import path from 'node:path';
const docs = fs.readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f)).concat('README.md');
for (const doc of docs) {
  const text = fs.readFileSync(doc, 'utf8');
  const next = text.replace(/(<!-- include: (\S+) -->\n```\w*\n)[\s\S]*?(```)/g, (_m, head, file, tail) => head + fs.readFileSync(file, 'utf8') + tail);
  if (next !== text) {
    fs.writeFileSync(doc, next);
    console.log(`updated ${doc}`);
  }
}
