/** The opencti-connector relation interface: schemas and helpers for both sides (see README.md). */
export * from './schema.js';
export * from './provider.js';
export * from './requirer.js';
