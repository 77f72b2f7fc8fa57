/**
 * Model scenarios as data: a YAML (or JSON) list of steps, each one `juju` operation, run on a
 * ModelSim. Secrets created by `add-secret` get a name that later steps reference as
 * `${secret:<name>}` (in config values, for example), standing for the id Juju printed.
 *
 *   model: { name: demo }
 *   steps:
 *     - deploy: { charm: examples/opencti-lite, config: { url: http://opencti:8080 } }
 *     - deploy: { charm: examples/connector-lite }
 *     - integrate: [opencti-lite, connector-lite]
 *     - expect: { unit: connector-lite/0, status: active, message: "connected to .*" }
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ModelSim, type HookRecord } from './model.js';

const configValue = z.union([z.string(), z.number(), z.boolean()]);
const endpoints = z.tuple([z.string(), z.string()]);

const stepSchema = z.union([
  z.object({ deploy: z.object({ charm: z.string(), app: z.string().optional(), units: z.number().int().positive().optional(), config: z.record(z.string(), configValue).optional() }).strict() }).strict(),
  z.object({ integrate: endpoints }).strict(),
  z.object({ 'remove-relation': endpoints }).strict(),
  z.object({ config: z.object({ app: z.string(), values: z.record(z.string(), configValue.nullable()) }).strict() }).strict(),
  z.object({ 'add-secret': z.object({ name: z.string(), content: z.record(z.string(), z.string()), label: z.string().optional() }).strict() }).strict(),
  z.object({ 'grant-secret': z.object({ secret: z.string(), app: z.string() }).strict() }).strict(),
  z.object({ 'update-secret': z.object({ secret: z.string(), content: z.record(z.string(), z.string()) }).strict() }).strict(),
  z.object({ 'set-leader': z.string() }).strict(),
  z.object({ scale: z.object({ app: z.string(), units: z.number().int().nonnegative() }).strict() }).strict(),
  z.object({ 'update-status': z.object({ app: z.string().optional() }).strict() }).strict(),
  z.object({ 'run-action': z.object({ unit: z.string(), action: z.string(), params: z.record(z.string(), z.unknown()).optional() }).strict() }).strict(),
  z.object({ 'remove-application': z.string() }).strict(),
  z.object({ resolve: z.string() }).strict(),
  z
    .object({
      expect: z
        .object({
          unit: z.string().optional(),
          app: z.string().optional(),
          status: z.enum(['active', 'blocked', 'maintenance', 'waiting', 'error', 'unknown']),
          /** A regular expression the whole message must match. */
          message: z.string().optional(),
        })
        .strict()
        .refine((e) => !!e.unit !== !!e.app, { message: 'expect needs exactly one of unit or app' }),
    })
    .strict(),
]);
export type ScenarioStep = z.infer<typeof stepSchema>;

export const scenarioSchema = z
  .object({
    model: z.object({ name: z.string().optional() }).strict().default({}),
    steps: z.array(stepSchema).min(1),
  })
  .strict();
export type Scenario = z.infer<typeof scenarioSchema>;

export function loadScenario(file: string): Scenario {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  const r = scenarioSchema.safeParse(doc);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  - ${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new Error(`${file} is not a valid scenario:\n${lines.join('\n')}\nEach step is one key: deploy, integrate, remove-relation, config, add-secret, grant-secret, update-secret, set-leader, scale, update-status, run-action, remove-application, resolve, expect.`);
  }
  return r.data;
}

export interface ScenarioResult {
  model: ModelSim;
  /** One line per step, for humans. */
  log: string[];
  secrets: Record<string, string>;
}

/**
 * Run a scenario; charm paths are relative to `baseDir`. Rejects on a failed hook (with its
 * stderr) or an unmet `expect`, naming the step.
 */
export async function runScenario(
  scenario: Scenario,
  opts: { baseDir?: string; onStep?: (line: string) => void; onHook?: (h: HookRecord) => void; keep?: boolean } = {},
): Promise<ScenarioResult> {
  const model = new ModelSim({ name: scenario.model.name, onHook: opts.onHook });
  const secrets: Record<string, string> = {};
  const log: string[] = [];
  const sub = (v: unknown): unknown =>
    typeof v === 'string'
      ? v.replace(/\$\{secret:([^}]+)\}/g, (_, name: string) => {
          const id = secrets[name];
          if (!id) throw new Error(`\${secret:${name}} refers to no add-secret step before it`);
          return id;
        })
      : v;
  const subAll = <T extends Record<string, unknown>>(o: T | undefined): T | undefined =>
    o && (Object.fromEntries(Object.entries(o).map(([k, v]) => [k, sub(v)])) as T);
  const secretId = (name: string) => secrets[name] ?? name;
  const base = opts.baseDir ?? process.cwd();
  try {
    for (const [i, step] of scenario.steps.entries()) {
      const [op] = Object.keys(step);
      const where = `step ${i + 1} (${op})`;
      try {
        if ('deploy' in step) {
          const d = step.deploy;
          await model.deploy({ charm: path.resolve(base, d.charm), app: d.app, units: d.units, config: subAll(d.config) as Record<string, string | number | boolean> });
        } else if ('integrate' in step) {
          const id = await model.integrate(...step.integrate);
          log.push(`${where}: relation ${id}`);
        } else if ('remove-relation' in step) {
          const [a, b] = step['remove-relation'];
          const rel = model.status().relations.find((r) => r.endpoints.some((e) => e.startsWith(`${a.split(':')[0]}:`)) && r.endpoints.some((e) => e.startsWith(`${b.split(':')[0]}:`)));
          if (!rel) throw new Error(`no relation between ${a} and ${b}`);
          await model.removeRelation(rel.id);
        } else if ('config' in step) {
          await model.config(step.config.app, subAll(step.config.values) as Record<string, string | number | boolean | null>);
        } else if ('add-secret' in step) {
          secrets[step['add-secret'].name] = model.addSecret(step['add-secret'].content, { label: step['add-secret'].label });
        } else if ('grant-secret' in step) {
          await model.grantSecret(secretId(step['grant-secret'].secret), step['grant-secret'].app);
        } else if ('update-secret' in step) {
          await model.updateSecret(secretId(step['update-secret'].secret), step['update-secret'].content);
        } else if ('set-leader' in step) {
          await model.setLeader(step['set-leader']);
        } else if ('scale' in step) {
          await model.scale(step.scale.app, step.scale.units);
        } else if ('update-status' in step) {
          await model.updateStatus(step['update-status'].app);
        } else if ('run-action' in step) {
          const r = await model.runAction(step['run-action'].unit, step['run-action'].action, step['run-action'].params);
          log.push(`${where}: results ${JSON.stringify(r)}`);
        } else if ('remove-application' in step) {
          await model.removeApplication(step['remove-application']);
        } else if ('resolve' in step) {
          await model.resolve(step.resolve);
        } else if ('expect' in step) {
          checkExpect(model, step.expect);
        }
      } catch (e) {
        throw new Error(`${where} failed: ${(e as Error).message}`);
      }
      const line = `${where}: ok — ${statusLine(model)}`;
      log.push(line);
      opts.onStep?.(line);
    }
  } finally {
    if (!opts.keep) await model.destroy();
  }
  return { model, log, secrets };
}

function checkExpect(model: ModelSim, e: Extract<ScenarioStep, { expect: unknown }>['expect']): void {
  const st = model.status();
  let status;
  if (e.unit) {
    const app = st.applications[e.unit.split('/')[0]!];
    status = app?.units[e.unit]?.status;
    if (!status) throw new Error(`no unit ${e.unit}`);
  } else {
    status = st.applications[e.app!]?.status;
    if (!status) throw new Error(`no application ${e.app}`);
  }
  const messageOk = e.message === undefined || new RegExp(`^(?:${e.message})$`).test(status.message);
  if (status.name !== e.status || !messageOk) {
    throw new Error(`expected ${e.unit ?? e.app} to be ${e.status}${e.message ? ` /${e.message}/` : ''}, but it is ${status.name}: "${status.message}"`);
  }
}

/** "app/0 active: message; ..." for every unit. */
export function statusLine(model: ModelSim): string {
  const parts: string[] = [];
  for (const app of Object.values(model.status().applications)) {
    for (const [name, u] of Object.entries(app.units)) parts.push(`${name} ${u.status.name}${u.status.message ? `: ${u.status.message}` : ''}`);
  }
  return parts.join('; ') || 'no units';
}
