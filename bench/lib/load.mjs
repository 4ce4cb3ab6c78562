// autocannon wrappers: one run = req/s, p50/p99 latency and an error count
// that includes GraphQL errors (HTTP 200 with an `errors` array).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';

const hasErrors = (body) => typeof body !== 'string' || body.includes('"errors"');

function summarise(name, r, extraErrors = 0) {
  const errors = r.errors + r.timeouts + r.non2xx + (r.mismatches ?? 0) + extraErrors;
  return {
    name,
    connections: r.connections,
    durationS: r.duration,
    requests: r.requests.total,
    reqPerSec: Number((r.requests.total / r.duration).toFixed(1)),
    // Answers without an error, per second (logins refused by the hash queue are fast errors).
    okPerSec: Number((Math.max(0, r.requests.total - errors) / r.duration).toFixed(1)),
    latencyMs: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      mean: r.latency.average,
    },
    errors,
    errorDetail: {
      socket: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      graphqlErrors: (r.mismatches ?? 0) + extraErrors,
    },
  };
}

/**
 * POSTs the same GraphQL body over and over. Every response body is checked:
 * one containing "errors" counts as an error (autocannon "mismatch").
 */
export async function runGraphql({
  name,
  url,
  query,
  variables,
  token,
  tokens,
  connections = 50,
  duration = 10,
  overallRate,
  timeout = 30,
}) {
  const headers = (t) => ({
    'content-type': 'application/json',
    ...(t ? { authorization: `Bearer ${t}` } : {}),
  });
  // `tokens`: each request the next of them (many users, each its own session).
  let next = 0;
  const r = await autocannon({
    url,
    method: 'POST',
    connections,
    duration,
    overallRate,
    timeout,
    headers: headers(token),
    body: JSON.stringify({ query, variables }),
    ...(tokens?.length
      ? {
          requests: [
            {
              setupRequest: (req) => ({
                ...req,
                headers: headers(tokens[next++ % tokens.length]),
              }),
            },
          ],
        }
      : {}),
    verifyBody: (body) => !hasErrors(body),
  });
  return summarise(name, r);
}

/**
 * runGraphql in a child process (bench/lib/load-child.mjs): for a second load
 * beside one this process times, whose answers would otherwise delay this
 * event loop and be counted as the server's latency.
 */
export function runGraphqlInChild(options) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL('./load-child.mjs', import.meta.url).pathname], {
      env: { ...process.env, BENCH_LOAD: JSON.stringify(options) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const out = [];
    child.stdout.on('data', (d) => out.push(d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(Buffer.concat(out).toString().trim().split('\n').pop()))
        : reject(new Error(`load child exited with ${code}`)),
    );
  });
}

/**
 * Like runGraphql, for a document every answer of which is a refusal (an
 * attacker's): an answer counts as an error only when it is not a GraphQL
 * answer at all.
 */
export async function runRefusals({ name, url, query, token, connections, duration }) {
  const r = await autocannon({
    url,
    method: 'POST',
    connections,
    duration,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query }),
    verifyBody: (body) => body.startsWith('{'),
  });
  return summarise(name, r);
}

/** Plain GET/POST with an expected exact body (bare node:http baseline). */
export async function runPlain({
  name,
  url,
  method = 'POST',
  body,
  expectBody,
  connections = 50,
  duration = 10,
}) {
  const r = await autocannon({
    url,
    method,
    connections,
    duration,
    body,
    headers: body ? { 'content-type': 'application/json' } : {},
    expectBody,
  });
  return summarise(name, r);
}

/**
 * Refresh-token rotation. Each connection keeps its own chain: it starts
 * from a seeded token (`nextSeed()`), sends it, and sends the token it got
 * back next time. A failed rotation counts as an error and the connection
 * takes a fresh seed.
 */
export async function runRefreshChains({
  name,
  url,
  query,
  nextSeed,
  connections = 20,
  duration = 10,
}) {
  let parseErrors = 0;
  const r = await autocannon({
    url,
    method: 'POST',
    connections,
    duration,
    timeout: 30,
    setupClient(client) {
      const state = { token: nextSeed() };
      client.setRequests([
        {
          method: 'POST',
          path: new URL(url).pathname,
          headers: { 'content-type': 'application/json' },
          setupRequest(req) {
            req.body = JSON.stringify({
              query,
              variables: { input: { refreshToken: state.token } },
            });
            return req;
          },
          onResponse(status, body) {
            let next = null;
            try {
              next = JSON.parse(body)?.data?.refreshToken?.refreshToken ?? null;
            } catch {
              /* counted below */
            }
            if (status !== 200 || !next) {
              if (status === 200) parseErrors++;
              state.token = nextSeed();
            } else {
              state.token = next;
            }
          },
        },
      ]);
    },
  });
  return summarise(name, r, parseErrors);
}

/**
 * Any HTTP request sent over and over (the peer's endpoints). A response
 * counts as an error when its status is not 2xx or `verifyBody(body)` is false.
 */
export async function runHttp({
  name,
  url,
  method = 'GET',
  headers = {},
  body,
  verifyBody,
  connections = 50,
  duration = 10,
  overallRate,
  timeout = 30,
}) {
  const r = await autocannon({
    url,
    method,
    connections,
    duration,
    overallRate,
    timeout,
    headers: body ? { 'content-type': 'application/json', ...headers } : headers,
    body,
    ...(verifyBody ? { verifyBody } : {}),
  });
  return summarise(name, r);
}

/**
 * A POST whose JSON body is new for every request (`makeBody(key)`, a key
 * unique to the request: registrations, each with its own email). A
 * response counts as an error when its status is not 200 or `ok(body)` is false.
 */
export async function runUnique({
  name,
  url,
  makeBody,
  ok,
  headers = {},
  connections = 8,
  duration = 10,
  timeout = 30,
}) {
  const prefix = randomBytes(4).toString('hex');
  let n = 0;
  let bad = 0;
  const r = await autocannon({
    url,
    method: 'POST',
    connections,
    duration,
    timeout,
    requests: [
      {
        method: 'POST',
        path: new URL(url).pathname,
        headers: { 'content-type': 'application/json', ...headers },
        setupRequest(req) {
          req.body = JSON.stringify(makeBody(`${prefix}-${n++}`));
          return req;
        },
        onResponse(status, body) {
          if (status === 200 && !ok(body)) bad++;
        },
      },
    ],
  });
  return summarise(name, r, bad);
}
