/**
 * CharmBase: what a charm class extends. It owns `this.on` (the charm's events) and gives handlers
 * the model, the metadata and a logger.
 */
import type * as z from 'zod/mini';
import { AbortDispatch, ConfigError } from './errors.js';
import { CharmEvents } from './events.js';
import { Framework, FrameworkObject } from './framework.js';
import type { Logger } from './log.js';
import type { CharmMeta } from './meta.js';
import type { Application, Unit } from './model.js';
import { BlockedStatus } from './status.js';

export class CharmBase extends FrameworkObject {
  readonly on: CharmEvents;

  constructor(framework: Framework) {
    super(framework, null);
    this.on = new CharmEvents(this);
  }

  get app(): Application {
    return this.model.app;
  }

  get unit(): Unit {
    return this.model.unit;
  }

  get meta(): CharmMeta {
    return this.framework.meta;
  }

  /** Logs to Juju's debug log (juju-log). */
  get log(): Logger {
    return this.framework.log;
  }

  /**
   * Config parsed by the charm's own schema (ranges, enums, cross-field rules). With
   * `errors: 'blocked'` (ops' load_config default for charms) an invalid config sets
   * `BlockedStatus("Invalid config: ...")` naming the options and ends the dispatch cleanly.
   */
  async loadConfig<T>(schema: z.core.$ZodType<T>, options: { errors?: 'raise' | 'blocked' } = {}): Promise<T> {
    try {
      return (await this.model.config()).parse(schema);
    } catch (e) {
      if (options.errors === 'blocked' && e instanceof ConfigError) {
        await this.unit.setStatus(new BlockedStatus(e.message));
        throw new AbortDispatch(0, e.message);
      }
      throw e;
    }
  }
}

export type CharmClass<C extends CharmBase = CharmBase> = new (framework: Framework) => C;
