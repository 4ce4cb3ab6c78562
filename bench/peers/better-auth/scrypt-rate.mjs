// The peer's raw hash rate, measured as bench/baselines/bcrypt-rate.mjs
// measures bcrypt's: better-auth's own password functions (better-auth/crypto:
// node:crypto scrypt, N=16384 r=16 p=1, on libuv's threadpool), with
// BENCH_CONCURRENCY calls in flight for BENCH_DURATION_S seconds.
// BENCH_MODE=verify (sign-in's work, default) or hash (sign-up's).
// Prints one JSON line: { comparesPerSec, latencyMs: { p50, p99 }, ... }.
import { hashPassword, verifyPassword } from 'better-auth/crypto';

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const durationMs = Number(process.env.BENCH_DURATION_S ?? 10) * 1000;
const mode = process.env.BENCH_MODE ?? 'verify';
const password = 'correct horse battery staple';
const hash = await hashPassword(password);

const lat = [];
let done = 0;
const t0 = performance.now();
const end = t0 + durationMs;
async function loop() {
  while (performance.now() < end) {
    const s = performance.now();
    if (mode === 'hash') await hashPassword(password);
    else if (!(await verifyPassword({ hash, password }))) throw new Error('verify returned false');
    // Like autocannon: only what completes inside the window counts.
    if (performance.now() > end) break;
    lat.push(performance.now() - s);
    done++;
  }
}
await Promise.all(Array.from({ length: concurrency }, loop));
lat.sort((a, b) => a - b);
const pct = (p) =>
  Number(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))].toFixed(1));
console.log(
  JSON.stringify({
    algorithm: 'scrypt N=16384 r=16 p=1 (better-auth/crypto)',
    mode,
    concurrency,
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    compares: done,
    durationS: durationMs / 1000,
    comparesPerSec: Number((done / (durationMs / 1000)).toFixed(2)),
    latencyMs: { p50: pct(50), p99: pct(99) },
  }),
);
