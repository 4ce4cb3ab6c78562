// Preloaded (node --import) into a profiled server: SIGWINCH exits normally,
// so `--cpu-prof` writes its profile (Nest's shutdown hooks re-raise
// SIGTERM/SIGUSR2 and a death by signal writes nothing).
process.on('SIGWINCH', () => process.exit(0));
