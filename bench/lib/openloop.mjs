// An open-loop load generator on node:http, for the scenarios that need
// what autocannon does not give: a request body and headers made per
// request (a token chain, a fresh address), each request's own latency
// (pooled over rounds for a p99), and a chosen source address per client
// (127.0.0.x: the server sees distinct clients).
//
// Open loop: requests start on a fixed schedule (`rate` a second) whether
// or not earlier ones have answered, so a slow server shows as latency, not
// as fewer requests sent (no coordinated omission). `maxInFlight` bounds
// what one loop keeps outstanding; a request that would pass it is counted
// as `dropped`, not sent.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** A keep-alive HTTP client of one server, optionally bound to a local (source) address. */
export function httpClient(url, { localAddress, maxSockets = 64 } = {}) {
  const u = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets, localAddress });
  return {
    url,
    agent,
    /** One request: resolves { status, headers, body, ms } (never rejects: status 0 on a socket error). */
    request({ method = 'POST', path = u.pathname, headers = {}, body } = {}) {
      const t0 = performance.now();
      return new Promise((resolve) => {
        const req = http.request(
          {
            host: u.hostname,
            port: u.port,
            method,
            path,
            agent,
            headers: body
              ? {
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(body),
                  ...headers,
                }
              : headers,
          },
          (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode,
                headers: res.headers,
                body: Buffer.concat(chunks).toString(),
                ms: performance.now() - t0,
              }),
            );
            res.on('error', (e) =>
              resolve({ status: 0, headers: {}, body: String(e), ms: performance.now() - t0 }),
            );
          },
        );
        req.on('error', (e) =>
          resolve({ status: 0, headers: {}, body: String(e), ms: performance.now() - t0 }),
        );
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

/**
 * Starts `fire()` `rate` times a second for `seconds`; `fire` resolves
 * `{ ok, ms, ... }`. Returns every result (in start order) and the number
 * dropped at `maxInFlight`.
 */
export async function openLoop({ rate, seconds, fire, maxInFlight = 1000 }) {
  const interval = 1000 / rate;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const pending = [];
  let inFlight = 0;
  let dropped = 0;
  for (let i = 0; ; i++) {
    const at = t0 + i * interval;
    if (at >= end) break;
    const wait = at - performance.now();
    if (wait > 1) await sleep(wait);
    if (inFlight >= maxInFlight) {
      dropped++;
      continue;
    }
    inFlight++;
    pending.push(
      fire(i).then(
        (r) => {
          inFlight--;
          return r;
        },
        (e) => {
          inFlight--;
          return { ok: false, ms: 0, error: String(e) };
        },
      ),
    );
  }
  return { results: await Promise.all(pending), dropped };
}

/** The q-quantile (0..1) of a list of numbers (nearest rank). */
export function quantile(xs, q) {
  if (!xs.length) return null;
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))];
}

/** p50 / p90 / p99 / max (ms, one decimal) of a list of latencies. */
export function latencySummary(ms) {
  const r = (x) => (x == null ? null : Number(x.toFixed(1)));
  return {
    n: ms.length,
    p50: r(quantile(ms, 0.5)),
    p90: r(quantile(ms, 0.9)),
    p99: r(quantile(ms, 0.99)),
    max: r(ms.length ? ms.reduce((a, x) => (x > a ? x : a), -Infinity) : null),
  };
}
