import { execa } from 'execa';
import { parse } from 'yaml';
import { z } from 'zod';

test('ESM-only deps load under jest', async () => {
  const r = await execa('node', ['-e', 'process.stdout.write("hi")']);
  expect(r.stdout).toBe('hi');
  expect(parse('a: 1')).toEqual({ a: 1 });
  expect(z.string().safeParse(1).success).toBe(false);
});
