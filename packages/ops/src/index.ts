/**
 * The charm framework: what `ops` is to Python charms.
 *
 *   import { CharmBase, main, ActiveStatus } from '@juju-ts/ops';
 *   class MyCharm extends CharmBase { ... }
 *   await main(MyCharm);
 */
export * from './backend.js';
export { ShellToolRunner } from './shell-runner.js';
export { urandom } from './urandom.js';
export * from './charm.js';
export * from './context.js';
export * from './errors.js';
export * from './events.js';
export * from './framework.js';
export * from './log.js';
export * from './main.js';
export * from './meta.js';
export * from './model.js';
export * from './redact.js';
export * from './pebble/index.js';
export * from './status.js';
export * from './storage.js';
