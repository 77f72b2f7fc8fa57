// Bundles every runnable artefact with esbuild. Filled in as the pieces land.
console.log('build: nothing to bundle yet');
