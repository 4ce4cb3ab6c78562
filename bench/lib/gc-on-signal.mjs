// Preloaded (node --expose-gc --import) into the benchmarked server: SIGUSR2
// runs full garbage collections, so that the memory scenario can read RSS
// with the garbage gone instead of somewhere on the heap's saw-tooth. The app
// itself does not listen to SIGUSR2; nothing else changes.
process.on('SIGUSR2', () => {
  globalThis.gc();
  globalThis.gc();
});
