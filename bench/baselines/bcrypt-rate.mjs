// Baseline (d): the raw bcrypt.compare rate at the server's cost, with
// `BENCH_CONCURRENCY` compares in flight (like that many login connections)
// and the default libuv threadpool (UV_THREADPOOL_SIZE as the server has it).
// BENCH_MODE=compare (login's work, default) or hash (register's).
// Prints one JSON line: { comparesPerSec, p50, p99, ... }.
import bcrypt from 'bcrypt';
import { createHmac } from 'node:crypto';

const rounds = Number(process.env.BCRYPT_ROUNDS ?? 12);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const durationMs = Number(process.env.BENCH_DURATION_S ?? 10) * 1000;
const mode = process.env.BENCH_MODE ?? 'compare';
// The API compares a 44-character base64 HMAC of the password, not the password itself.
const input = createHmac('sha256', 'k').update('correct horse battery staple').digest('base64');
const hash = await bcrypt.hash(input, rounds);

const lat = [];
let done = 0;
const t0 = performance.now();
const end = t0 + durationMs;
async function loop() {
  while (performance.now() < end) {
    const s = performance.now();
    if (mode === 'hash') await bcrypt.hash(input, rounds);
    else if (!(await bcrypt.compare(input, hash))) throw new Error('bcrypt.compare returned false');
    // Like autocannon: only what completes inside the window counts.
    if (performance.now() > end) break;
    lat.push(performance.now() - s);
    done++;
  }
}
await Promise.all(Array.from({ length: concurrency }, loop));
const elapsed = durationMs / 1000;
lat.sort((a, b) => a - b);
const pct = (p) =>
  Number(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))].toFixed(1));
console.log(
  JSON.stringify({
    rounds,
    mode,
    concurrency,
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    compares: done,
    durationS: Number(elapsed.toFixed(2)),
    comparesPerSec: Number((done / elapsed).toFixed(2)),
    latencyMs: { p50: pct(50), p99: pct(99) },
  }),
);
