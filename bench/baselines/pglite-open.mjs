// Baseline for the embedded start: what opening the embedded database costs
// by itself. A fresh Node process imports PGlite, opens the existing data
// directory given as argv[2] with PGlite's own defaults, runs one query and
// closes it. Prints one JSON line: { openMs } from the script's first line
// (Node's own boot excluded) to the query's answer.
const t0 = performance.now();
const { PGlite } = await import('@electric-sql/pglite');
const db = await PGlite.create(process.argv[2]);
await db.query('SELECT 1');
const openMs = performance.now() - t0;
await db.close();
console.log(JSON.stringify({ openMs }));
