/**
 * Building and packing TypeScript charms: what charmcraft's build and pack steps do for a Python
 * charm (see docs/packing.md).
 *
 *   await buildCharm({ project: 'my-charm', out: 'my-charm/build' });  // dispatch + one bundle + metadata
 *   await packCharm({ project: 'my-charm', output: 'my-charm.charm' }); // the .charm Juju deploys
 */
export * from './build/charm.js';
export * from './pack/charm.js';
export * from './pack/zip.js';
export * from './init/index.js';
