/**
 * A deterministic generator of realistic live-stream events: creates, updates (field changes,
 * field removals, standard-id changes), merges, deletes and re-creates of deleted objects over
 * identities, indicators, malware, relationships and reports, shaped like OpenCTI 6.x version-"4"
 * events (opencti-stream.md §2.3).
 *
 * It keeps just enough state to stay consistent: it never deletes or merges an object that another
 * object still references, so the remote's final state is well defined.
 */
import { OCTI_EXT, hashUuid, type Stix, type StreamEventData } from './stix.js';

const TLP_GREEN = 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb';
const TLP_AMBER = 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421';
const USER_ID = '88ec0c6a-13ce-5e39-b486-354fe4a7084f';

const SECTORS = ['finance', 'energy', 'healthcare', 'government', 'telecommunications', 'transport', 'education', 'retail'];
const FAMILIES = ['Emotet', 'TrickBot', 'QakBot', 'IcedID', 'Cobalt Strike', 'AgentTesla', 'Formbook', 'LockBit', 'BlackCat', 'RedLine', 'Raccoon', 'Remcos'];
const LABELS = ['phishing', 'c2', 'ransomware', 'banking', 'loader', 'stealer', 'apt', 'botnet', 'exfiltration', 'credential-access'];
const TLDS = ['com', 'net', 'org', 'io', 'ru', 'cn', 'xyz', 'top'];
const WORDS = ['update', 'secure', 'login', 'cdn', 'mail', 'portal', 'cloud', 'api', 'files', 'sync', 'auth', 'billing'];

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Live {
  obj: Stix;
  refs: number;
  refersTo: string[];
}

export interface GeneratorOptions {
  seed?: number;
  /** Base time of the generated objects (ms). Default: 2024-06-15T10:00:00Z. */
  baseTime?: number;
  /** Multiplies the share of id changes, deletes and merges (1 = default mix, at most 10). */
  churn?: number;
}

export class StixEventGenerator {
  readonly #rand: () => number;
  #clock: number;
  #n = 0;
  readonly #live = new Map<string, Live>();
  readonly #ids: string[] = [];
  readonly #index = new Map<string, number>();
  readonly #byType = new Map<string, string[]>();
  /** Deleted indicators and malware, which may come back under the same id. */
  readonly #deleted: Live[] = [];
  readonly #churn: number;

  constructor(opts: GeneratorOptions = {}) {
    this.#rand = prng(opts.seed ?? 1);
    this.#churn = Math.min(10, Math.max(0, opts.churn ?? 1));
    this.#clock = opts.baseTime ?? Date.UTC(2024, 5, 15, 10, 0, 0);
  }

  /** Number of objects currently alive. */
  get size(): number {
    return this.#live.size;
  }

  #pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.#rand() * a.length)] as T;
  }
  #int(min: number, max: number): number {
    return min + Math.floor(this.#rand() * (max - min + 1));
  }
  #now(): string {
    this.#clock += 1000 + Math.floor(this.#rand() * 4000);
    return new Date(this.#clock).toISOString();
  }

  #add(obj: Stix, refersTo: string[]): void {
    this.#live.set(obj.id, { obj, refs: 0, refersTo });
    this.#index.set(obj.id, this.#ids.length);
    this.#ids.push(obj.id);
    const list = this.#byType.get(obj.type) ?? [];
    list.push(obj.id);
    this.#byType.set(obj.type, list);
    for (const r of refersTo) {
      const l = this.#live.get(r);
      if (l) l.refs++;
    }
  }
  #remove(id: string): Live | undefined {
    const l = this.#live.get(id);
    if (!l) return undefined;
    this.#live.delete(id);
    const i = this.#index.get(id);
    if (i !== undefined) {
      const last = this.#ids.pop();
      if (last !== undefined && last !== id) {
        this.#ids[i] = last;
        this.#index.set(last, i);
      }
      this.#index.delete(id);
    }
    const list = this.#byType.get(l.obj.type);
    if (list) {
      const j = list.indexOf(id);
      if (j >= 0) {
        list[j] = list[list.length - 1] as string;
        list.pop();
      }
    }
    for (const r of l.refersTo) {
      const t = this.#live.get(r);
      if (t) t.refs--;
    }
    return l;
  }
  #randomOf(type: string): Stix | undefined {
    const list = this.#byType.get(type);
    if (!list || list.length === 0) return undefined;
    return this.#live.get(this.#pick(list))?.obj;
  }
  #unreferenced(filter: (l: Live) => boolean, tries = 8): Live | undefined {
    for (let i = 0; i < tries && this.#ids.length > 0; i++) {
      const l = this.#live.get(this.#pick(this.#ids));
      if (l && l.refs === 0 && filter(l)) return l;
    }
    return undefined;
  }

  #base(type: string, id: string, entityType: string): Stix {
    const t = this.#now();
    return {
      id,
      spec_version: '2.1',
      type,
      created: t,
      modified: t,
      extensions: {
        [OCTI_EXT]: { extension_type: 'property-extension', id: hashUuid(`internal:${id}`), type: entityType, created_at: t, updated_at: t, stix_ids: [], is_inferred: false },
      },
    };
  }

  #identity(): Stix {
    const sector = this.#pick(SECTORS);
    const name = `${sector[0]?.toUpperCase()}${sector.slice(1)} Corp ${this.#n}`;
    const o = this.#base('identity', `identity--${hashUuid(`identity:${name}`)}`, 'Organization');
    Object.assign(o, { name, identity_class: 'organization', description: `A ${sector} organisation tracked by the CTI team.`, sectors: [sector], confidence: this.#int(50, 100), object_marking_refs: [TLP_GREEN] });
    return o;
  }
  #pattern(): string {
    const r = this.#rand();
    if (r < 0.4) return `[domain-name:value = '${this.#pick(WORDS)}-${this.#pick(WORDS)}${this.#n}.${this.#pick(TLDS)}']`;
    if (r < 0.7) return `[ipv4-addr:value = '${this.#int(1, 223)}.${this.#int(0, 255)}.${this.#int(0, 255)}.${this.#int(1, 254)}']`;
    const hex = hashUuid(`file:${this.#n}:${this.#rand()}`).replace(/-/g, '');
    return `[file:hashes.'SHA-256' = '${hex}${hex.slice(0, 32)}']`;
  }
  #indicator(author: Stix): Stix {
    const pattern = this.#pattern();
    const o = this.#base('indicator', `indicator--${hashUuid(`indicator:${pattern}`)}`, 'Indicator');
    Object.assign(o, {
      name: pattern.replace(/^\[|\]$/g, ''),
      description: 'Observed in a phishing campaign; see the linked report for context.',
      pattern,
      pattern_type: 'stix',
      valid_from: o.created,
      confidence: this.#int(30, 90),
      labels: [this.#pick(LABELS)],
      created_by_ref: author.id,
      object_marking_refs: [this.#pick([TLP_GREEN, TLP_AMBER])],
      x_opencti_score: this.#int(10, 100),
      x_opencti_main_observable_type: pattern.includes('domain') ? 'Domain-Name' : pattern.includes('ipv4') ? 'IPv4-Addr' : 'StixFile',
    });
    return o;
  }
  #malware(author: Stix): Stix {
    const name = `${this.#pick(FAMILIES)} ${this.#n}`;
    const o = this.#base('malware', `malware--${hashUuid(`malware:${name}`)}`, 'Malware');
    Object.assign(o, { name, description: `${name} is a malware family distributed by malspam.`, is_family: true, malware_types: [this.#pick(['trojan', 'ransomware', 'backdoor', 'spyware'])], aliases: [], confidence: this.#int(40, 100), created_by_ref: author.id, object_marking_refs: [TLP_GREEN] });
    return o;
  }
  #relationship(src: Stix, dst: Stix, relType: string, author: Stix): Stix {
    const o = this.#base('relationship', `relationship--${hashUuid(`rel:${this.#n}:${src.id}:${dst.id}`)}`, relType === 'indicates' ? 'indicates' : relType);
    const ext = (o.extensions as Record<string, Record<string, unknown>>)[OCTI_EXT] as Record<string, unknown>;
    ext.source_type = (src.extensions as Record<string, Record<string, unknown>>)[OCTI_EXT]?.type;
    ext.target_type = (dst.extensions as Record<string, Record<string, unknown>>)[OCTI_EXT]?.type;
    Object.assign(o, { relationship_type: relType, source_ref: src.id, target_ref: dst.id, start_time: o.created, confidence: this.#int(30, 90), created_by_ref: author.id, object_marking_refs: [TLP_GREEN] });
    return o;
  }
  #report(author: Stix, refs: string[]): Stix {
    const name = `Threat report ${this.#n}: ${this.#pick(FAMILIES)} activity against ${this.#pick(SECTORS)}`;
    const o = this.#base('report', `report--${hashUuid(`report:${name}`)}`, 'Report');
    Object.assign(o, { name, description: 'Weekly analysis of observed activity.', published: o.created, report_types: ['threat-report'], confidence: this.#int(50, 100), created_by_ref: author.id, object_marking_refs: [TLP_AMBER], object_refs: refs });
    return o;
  }

  #event(type: StreamEventData['type'], data: Stix, message: string, context?: StreamEventData['context']): StreamEventData {
    const ev: StreamEventData = { version: '4', type, scope: 'external', message, origin: { user_id: USER_ID, referer: 'https://remote.example/dashboard' }, data };
    if (context) ev.context = context;
    return ev;
  }

  #create(): StreamEventData {
    const author = this.#randomOf('identity');
    const r = this.#rand();
    let obj: Stix;
    let refersTo: string[] = [];
    if (!author || r < 0.06) obj = this.#identity();
    else if (r < 0.45) {
      obj = this.#indicator(author);
      refersTo = [author.id];
    } else if (r < 0.62) {
      obj = this.#malware(author);
      refersTo = [author.id];
    } else if (r < 0.87) {
      const ind = this.#randomOf('indicator');
      const mal = this.#randomOf('malware');
      if (ind && mal && this.#rand() < 0.6) obj = this.#relationship(ind, mal, 'indicates', author);
      else if (mal) obj = this.#relationship(mal, author, 'targets', author);
      else obj = this.#malware(author);
      refersTo = [author.id, ...(obj.type === 'relationship' ? [obj.source_ref as string, obj.target_ref as string] : [])];
    } else {
      const refs = new Set<string>();
      const k = this.#int(2, 5);
      for (let i = 0; i < k * 2 && refs.size < k; i++) {
        const o = this.#randomOf(this.#pick(['indicator', 'malware', 'indicator']));
        if (o) refs.add(o.id);
      }
      if (refs.size === 0) obj = this.#identity();
      else {
        obj = this.#report(author, [...refs]);
        refersTo = [author.id, ...refs];
      }
    }
    if (this.#live.has(obj.id)) return this.#update();
    this.#add(obj, refersTo);
    const name = typeof obj.name === 'string' ? obj.name : obj.id;
    return this.#event('create', obj, `creates a ${obj.type} \`${name}\``);
  }

  #touch(o: Stix, t: string): Stix {
    const ext = { ...((o.extensions as Record<string, Record<string, unknown>>)[OCTI_EXT] ?? {}), updated_at: t };
    return { ...o, modified: t, extensions: { [OCTI_EXT]: ext } };
  }

  #update(): StreamEventData {
    if (this.#ids.length === 0) return this.#create();
    const l = this.#live.get(this.#pick(this.#ids));
    if (!l) return this.#create();
    const old = l.obj;
    const t = this.#now();
    const next = this.#touch(old, t);
    const r = this.#rand();
    let patch: { op: string; path: string; value?: unknown }[];
    let reverse: { op: string; path: string; value?: unknown }[];
    let what: string;
    if (r < 0.35) {
      const c = this.#int(10, 100);
      next.confidence = c;
      patch = [{ op: 'replace', path: '/confidence', value: c }];
      reverse = [{ op: 'replace', path: '/confidence', value: old.confidence }];
      what = '`confidence`';
    } else if (r < 0.6) {
      const labels = Array.isArray(old.labels) ? [...(old.labels as string[])] : [];
      const lab = this.#pick(LABELS);
      if (!labels.includes(lab)) labels.push(lab);
      next.labels = labels;
      patch = [{ op: 'add', path: '/labels', value: labels }];
      reverse = [{ op: 'replace', path: '/labels', value: old.labels }];
      what = '`labels`';
    } else if (r < 0.8 && typeof old.description === 'string') {
      delete next.description; // a field removal: only a synchronized upsert propagates it (pitfall 6)
      patch = [{ op: 'remove', path: '/description' }];
      reverse = [{ op: 'add', path: '/description', value: old.description }];
      what = 'removes `description`';
    } else {
      const d = `Updated analysis ${this.#n}: activity confirmed by several sources.`;
      next.description = d;
      patch = [{ op: 'replace', path: '/description', value: d }];
      reverse = [{ op: old.description === undefined ? 'remove' : 'replace', path: '/description', value: old.description }];
      what = '`description`';
    }
    l.obj = next;
    return this.#event('update', next, `updates ${what} of ${old.type} \`${String(old.name ?? old.id)}\``, { patch, reverse_patch: reverse });
  }

  /** An update that changes an indicator's pattern, hence its deterministic standard id (pitfall 5). */
  #rename(): StreamEventData {
    const l = this.#unreferenced((x) => x.obj.type === 'indicator');
    if (!l) return this.#update();
    const old = l.obj;
    const pattern = this.#pattern();
    const newId = `indicator--${hashUuid(`indicator:${pattern}`)}`;
    if (this.#live.has(newId)) return this.#update();
    const t = this.#now();
    const next = this.#touch(old, t);
    next.id = newId;
    next.pattern = pattern;
    next.name = pattern.replace(/^\[|\]$/g, '');
    // The platform does not keep an entity's previous standard id as an alternative id (only an
    // observable's: F@5b43e1fe8 middleware.ts#updateAttributeRaw), so stix_ids stay as they were.
    const refersTo = l.refersTo;
    this.#remove(old.id);
    this.#add(next, refersTo);
    return this.#event('update', next, `updates \`pattern\` of indicator \`${String(old.name)}\``, {
      patch: [{ op: 'replace', path: '/pattern', value: pattern }, { op: 'replace', path: '/id', value: newId }],
      reverse_patch: [{ op: 'replace', path: '/pattern', value: old.pattern }, { op: 'replace', path: '/id', value: old.id }],
    });
  }

  #delete(): StreamEventData {
    const l = this.#unreferenced((x) => x.obj.type !== 'identity');
    if (!l) return this.#update();
    this.#remove(l.obj.id);
    if ((l.obj.type === 'indicator' || l.obj.type === 'malware') && this.#deleted.length < 1000) this.#deleted.push(l);
    return this.#event('delete', l.obj, `deletes a ${l.obj.type} \`${String(l.obj.name ?? l.obj.id)}\``);
  }

  /** A deleted object created again under its (deterministic) id, with new content. */
  #recreate(): StreamEventData {
    const i = Math.floor(this.#rand() * this.#deleted.length);
    const l = this.#deleted[i];
    if (!l || this.#live.has(l.obj.id) || !l.refersTo.every((r) => this.#live.has(r))) return this.#create();
    this.#deleted.splice(i, 1);
    const t = this.#now();
    const obj = this.#touch(l.obj, t);
    obj.created = t;
    obj.description = `Seen again ${this.#n}: re-created after its deletion.`;
    this.#add(obj, l.refersTo);
    return this.#event('create', obj, `creates again a ${obj.type} \`${String(obj.name ?? obj.id)}\``);
  }

  #merge(): StreamEventData {
    const malware = this.#byType.get('malware') ?? [];
    if (malware.length < 4) return this.#update();
    const target = this.#live.get(this.#pick(malware));
    if (!target) return this.#update();
    const sources: Live[] = [];
    for (let i = 0; i < 6 && sources.length < 2; i++) {
      const s = this.#live.get(this.#pick(malware));
      if (s && s.refs === 0 && s !== target && !sources.includes(s)) sources.push(s);
    }
    if (sources.length === 0) return this.#update();
    const t = this.#now();
    const next = this.#touch(target.obj, t);
    const ext = (next.extensions as Record<string, Record<string, unknown>>)[OCTI_EXT] as Record<string, unknown>;
    const stixIds = Array.isArray(ext.stix_ids) ? [...(ext.stix_ids as string[])] : [];
    const aliases = Array.isArray(next.aliases) ? [...(next.aliases as string[])] : [];
    for (const s of sources) {
      // The target keeps the sources' standard ids and their own alternative ids (plat
      // middleware.js#mergeEntitiesRaw: x_opencti_stix_ids).
      const sourceIds = (s.obj.extensions as Record<string, Record<string, unknown>>)[OCTI_EXT]?.stix_ids;
      for (const id of [s.obj.id, ...(Array.isArray(sourceIds) ? (sourceIds as string[]) : [])]) if (!stixIds.includes(id)) stixIds.push(id);
      if (typeof s.obj.name === 'string' && !aliases.includes(s.obj.name)) aliases.push(s.obj.name);
      this.#remove(s.obj.id);
    }
    const oldAliases = target.obj.aliases;
    ext.stix_ids = stixIds;
    next.aliases = aliases;
    target.obj = next;
    return this.#event('merge', next, `merges ${sources.length} malware into \`${String(next.name)}\``, {
      patch: [{ op: 'replace', path: '/aliases', value: aliases }],
      reverse_patch: [{ op: 'replace', path: '/aliases', value: oldAliases }],
      sources: sources.map((s) => s.obj),
    });
  }

  /**
   * The next event. The default mix is roughly 55% create, 40% update, 1% standard-id change,
   * 2% delete, 1% merge and 1% re-create of a deleted object: knowledge bases mostly grow and
   * change, they rarely lose objects.
   * `churn` multiplies the share of id changes, deletes and merges (tests use more of them).
   */
  next(): StreamEventData {
    this.#n++;
    if (this.#live.size < 12) return this.#create();
    const r = this.#rand();
    const k = this.#churn;
    if (r < 0.01 * k) return this.#rename();
    if (r < 0.03 * k) return this.#delete();
    if (r < 0.04 * k) return this.#merge();
    if (r < 0.05 * k && this.#deleted.length > 0) return this.#recreate();
    if (r < 0.05 * k + (1 - 0.05 * k) * 0.57) return this.#create();
    return this.#update();
  }
}
