/** Reading configuration tables out of connector READMEs: both layouts, merging, and what is refused. */
import { plainText, readConfigTables, ScaffoldError } from './index.js';

const SEED_LAYOUT = `# A connector

### Configuration

| Parameter        | Docker envvar     | Mandatory | Description                         |
| ---------------- | ----------------- | --------- | ----------------------------------- |
| \`opencti_url\`    | \`OPENCTI_URL\`     | Yes       | The URL of the OpenCTI platform.    |
| \`feed_interval\`  | \`FEED_INTERVAL\`   | Yes       | Seconds between two runs.           |
| \`feed_since\`     | \`FEED_SINCE\`      | No        | Optional, where to start.           |
`;

const CURRENT_LAYOUT = `| Parameter | config.yml | Docker environment variable | Default | Mandatory | Description |
|-----------|------------|-----------------------------|---------|-----------|-------------|
| Log level | log_level  | \`CONNECTOR_LOG_LEVEL\`     | error   | No        | \`debug\` or \`info\`. |
| Key       | key        | \`FEED_KEY\`                |         | Yes       | The **API** key, see [the docs](https://feed.example/docs). |
| Batch     | batch      | \`FEED_BATCH\`              | 100     | Cond.     | Entries per request. |
`;

test('the seed layout (Parameter | Docker envvar | Mandatory | Description): variables, mandatory, descriptions', () => {
  const { rows, tables, warnings } = readConfigTables(SEED_LAYOUT, 'seed.md');
  expect(tables).toBe(1);
  expect(warnings).toEqual([]);
  expect(rows).toEqual([
    { env: 'OPENCTI_URL', mandatory: 'yes', description: 'The URL of the OpenCTI platform.', at: 'seed.md:7' },
    { env: 'FEED_INTERVAL', mandatory: 'yes', description: 'Seconds between two runs.', at: 'seed.md:8' },
    { env: 'FEED_SINCE', mandatory: 'no', description: 'Optional, where to start.', at: 'seed.md:9' },
  ]);
});

test('the current layout (… | Docker environment variable | Default | Mandatory | …): defaults, Cond., Markdown made plain', () => {
  const { rows } = readConfigTables(CURRENT_LAYOUT, 'README.md');
  expect(rows).toEqual([
    { env: 'CONNECTOR_LOG_LEVEL', mandatory: 'no', default: 'error', description: 'debug or info.', at: 'README.md:3' },
    { env: 'FEED_KEY', mandatory: 'yes', description: 'The API key, see the docs (https://feed.example/docs).', at: 'README.md:4' },
    { env: 'FEED_BATCH', mandatory: 'conditional', default: '100', description: 'Entries per request.', at: 'README.md:5' },
  ]);
});

test('several tables are merged: a variable described twice is one row, the first completed by the later', () => {
  const md = `${SEED_LAYOUT}\nSome prose between the tables.\n\n| Docker environment variable | Default | Example | Mandatory |\n|---|---|---|---|\n| \`FEED_SINCE\` | 2024-01-01 | | No |\n| \`FEED_PAGE\` | | 50 | No |\n`;
  const { rows, tables, warnings } = readConfigTables(md, 'r.md');
  expect(tables).toBe(2);
  expect(rows.map((r) => r.env)).toEqual(['OPENCTI_URL', 'FEED_INTERVAL', 'FEED_SINCE', 'FEED_PAGE']);
  expect(rows[2]).toEqual({ env: 'FEED_SINCE', mandatory: 'no', default: '2024-01-01', description: 'Optional, where to start.', at: 'r.md:9' });
  // No description column: the row still counts (the option is described by its variable).
  expect(rows[3]).toEqual({ env: 'FEED_PAGE', mandatory: 'no', example: '50', description: '', at: 'r.md:16' });
  expect(warnings).toEqual([]);

  const conflicting = `${CURRENT_LAYOUT}\n| Docker environment variable | Mandatory | Default |\n|---|---|---|\n| FEED_BATCH | Yes | 10 |\n`;
  const again = readConfigTables(conflicting, 'c.md');
  expect(again.rows.find((r) => r.env === 'FEED_BATCH')).toMatchObject({ mandatory: 'conditional', default: '100' });
  expect(again.warnings).toEqual(['c.md:9: FEED_BATCH is described again (first at c.md:5) and differently; the first row wins']);
});

test('escaped pipes stay in the cell; tables in code blocks and tables without the columns are not configuration', () => {
  const md = [
    '| Name | Value |',
    '|---|---|',
    '| a | b |',
    '',
    '```markdown',
    '| Docker envvar | Mandatory |',
    '|---|---|',
    '| `IN_CODE` | Yes |',
    '```',
    '',
    '| Docker envvar | Mandatory | Default | Description |',
    '|:---|:---:|---|---|',
    '| `FEED_FILTER` | No | `a\\|b` | Values joined by \\|. |',
  ].join('\n');
  const { rows, tables } = readConfigTables(md, 'x.md');
  expect(tables).toBe(1);
  expect(rows).toEqual([{ env: 'FEED_FILTER', mandatory: 'no', default: 'a|b', description: 'Values joined by |.', at: 'x.md:13' }]);
});

test('rows without a usable variable are skipped with a warning naming the line', () => {
  const md = '| Docker environment variable | Mandatory |\n|---|---|\n|  | Yes |\n| `FEED_A` or `FEED_B` | No |\n| `FEED_C` | No |\n';
  const { rows, warnings } = readConfigTables(md, 'w.md');
  expect(rows.map((r) => r.env)).toEqual(['FEED_C']);
  expect(warnings).toEqual(['w.md:3: no environment variable in this row, skipped', 'w.md:4: "FEED_A or FEED_B" is not an environment variable name, row skipped']);
});

test('no recognisable table, or a Mandatory cell that says nothing known, is an error naming the place', () => {
  expect(() => readConfigTables('# Title\n\nNo tables here.\n', 'empty.md')).toThrow(
    'empty.md has no configuration table: expected a Markdown table with an environment-variable column ("Docker environment variable" or "Docker envvar") and a "Mandatory" column',
  );
  expect(() => readConfigTables('| Docker envvar | Description |\n|---|---|\n| `A` | a |\n', 'nomand.md')).toThrow(
    /\(nomand\.md:1 has an environment-variable column but no Mandatory column\)/,
  );
  let error: unknown;
  try {
    readConfigTables('| Docker envvar | Mandatory |\n|---|---|\n| `A` | maybe |\n| `B` | |\n', 'bad.md');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ScaffoldError);
  expect((error as ScaffoldError).problems).toEqual([
    'bad.md:3: the Mandatory column of A must be Yes, No or Cond. (got "maybe")',
    'bad.md:4: the Mandatory column of B must be Yes, No or Cond. (got "")',
  ]);
});

test('plainText: code spans, emphasis, links, line breaks and entities', () => {
  expect(plainText('Use `a` **or** __b__<br/>see [here](https://x.example) &amp; [https://y.example](https://y.example) &lt;3')).toBe(
    'Use a or b see here (https://x.example) & https://y.example <3',
  );
});
