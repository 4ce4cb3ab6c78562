// Helpers shared by the benchmark scripts: processes, ports, HTTP, GraphQL, RSS.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** A free loopback TCP port (listen on 0, close, reuse the number). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a node process; its output goes to `logFile` lines kept in memory
 * (last 200) so a failure can be shown. Resolves the child at once.
 */
export function startNode(args, { env = {}, cwd, name = 'child' } = {}) {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = [];
  const keep = (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      tail.push(line);
      if (tail.length > 200) tail.shift();
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.tail = tail;
  child.benchName = name;
  child.exited = new Promise((resolve) =>
    child.once('exit', (code, sig) => resolve({ code, sig })),
  );
  return child;
}

/** Sends SIGTERM, then SIGKILL after `ms` if it is still there. */
export async function stopChild(child, ms = 5000, signal = 'SIGTERM') {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), ms);
  await child.exited;
  clearTimeout(t);
}

/** Polls `url` until it answers 200; returns the elapsed ms. Throws after `timeoutMs`. */
export async function waitHealthy(
  url,
  { timeoutMs = 60_000, child, intervalMs = 20, anyStatus = false } = {},
) {
  const t0 = performance.now();
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(
        `${child.benchName} exited (${child.exitCode ?? child.signalCode}) before ${url} was healthy:\n${child.tail.join('\n')}`,
      );
    }
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (r.status === 200 || anyStatus) return performance.now() - t0;
    } catch {
      /* not up yet */
    }
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(
        `${url} not healthy after ${timeoutMs} ms${child ? `:\n${child.tail.join('\n')}` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}

/** One GraphQL POST; returns { status, body }. Throws on GraphQL errors unless `allowErrors`. */
export async function gql(url, query, variables, { token, allowErrors = false } = {}) {
  const r = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await r.json();
  if (!allowErrors && (r.status !== 200 || body.errors)) {
    throw new Error(`GraphQL ${r.status}: ${JSON.stringify(body.errors ?? body)}`);
  }
  return { status: r.status, body };
}

/** Resident set size of a process in MiB, from /proc/<pid>/status (null when gone). */
export function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export const round = (x, d = 1) => (x == null || Number.isNaN(x) ? null : Number(x.toFixed(d)));
export const ratio = (a, b) => (a && b ? Number((a / b).toFixed(3)) : null);
