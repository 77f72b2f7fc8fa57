// Entry point kept at lib/framework/pebble.js so callers can import either this file or the
// folder's index; the code lives in ./pebble/.
export * from './pebble/index.js';
