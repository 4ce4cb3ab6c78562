#!/usr/bin/env node
// `node bench/pg-timer-gc.mjs`: what pg's per-query `query_timeout` timer costs
// the garbage collector, against the socket idle timeout the API uses instead
// (src/database/prisma.ts, abandonSilentQueries) and against no client-side
// timeout, all in this run. Each mode is a child process (`--trace-gc-nvp`,
// the API's young-generation flags) sending 50 concurrent named queries for
// BENCH_GC_S seconds (default 6) through a pool of 10 to the PostgreSQL at
// BENCH_PG_URL; the figures are V8's own: bytes promoted to the old
// generation by scavenges, scavenge pause time, full collections. The socket
// timeout is the API's own function, from the build (`npm run build` first).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BUILT = new URL('../dist/src/database/prisma.js', import.meta.url);
if (!existsSync(BUILT)) {
  console.error(
    'bench/pg-timer-gc.mjs: run `npm run build` first (it uses dist/src/database/prisma.js)',
  );
  process.exit(1);
}

const PG = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const seconds = Number(process.env.BENCH_GC_S ?? 6);
const mode = process.argv[2];

if (mode) {
  const { default: pg } = await import('pg');
  // Loaded in every mode, so each child starts from the same heap.
  const { abandonSilentQueries } = await import(BUILT.href);
  const pool = new pg.Pool({
    connectionString: PG,
    max: 10,
    ...(mode === 'query_timeout' ? { query_timeout: 5000 } : {}),
  });
  if (mode === 'socket_timeout') {
    abandonSilentQueries(pool, 5000);
  }
  let queries = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (Date.now() < end) {
        const r = await pool.query({
          name: 'q',
          text: 'SELECT $1::int + 1 AS x, now() AS t',
          values: [queries],
        });
        queries += r.rows.length;
      }
    }),
  );
  await pool.end();
  console.log(`QUERIES ${queries}`);
  process.exit(0);
}

const rows = [];
for (const m of ['none', 'socket_timeout', 'query_timeout']) {
  const r = spawnSync(
    process.execPath,
    [
      '--trace-gc-nvp',
      '--max-semi-space-size=32',
      '--min-semi-space-size=32',
      fileURLToPath(import.meta.url),
      m,
    ],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`${m}: ${r.stderr || r.stdout}`);
  let promoted = 0,
    pause = 0,
    scavenges = 0,
    full = 0;
  for (const line of r.stdout.split('\n')) {
    if (/ gc=s /.test(line)) {
      scavenges++;
      promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0);
      pause += Number(/ pause=([\d.]+)/.exec(line)?.[1] ?? 0);
    } else if (/ gc=(mc|ms) /.test(line)) full++;
  }
  const queries = Number(/QUERIES (\d+)/.exec(r.stdout)?.[1] ?? 0);
  rows.push({
    mode: m,
    queries,
    scavenges,
    promotedPerQuery: promoted / queries,
    pausePerQueryUs: (pause * 1000) / queries,
    full,
  });
}
const base = rows[0];
console.log(
  'client-side timeout   queries  scavenges  promoted B/query  scavenge pause µs/query  full GCs  (ratios to none)',
);
for (const x of rows)
  console.log(
    `${x.mode.padEnd(20)} ${String(x.queries).padStart(8)} ${String(x.scavenges).padStart(10)} ${x.promotedPerQuery.toFixed(0).padStart(10)} (x${(x.promotedPerQuery / base.promotedPerQuery).toFixed(2)}) ${x.pausePerQueryUs.toFixed(2).padStart(12)} (x${(x.pausePerQueryUs / base.pausePerQueryUs).toFixed(2)}) ${String(x.full).padStart(9)}`,
  );
