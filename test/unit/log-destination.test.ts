import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LOG_FLUSH_MS } from '../../src/logging/logger.js';

/**
 * The root logger's stdout is buffered (src/logging/logger.ts): a
 * line must still come out within LOG_FLUSH_MS while the process runs, and
 * every line must come out when it exits, by process.exit or by a crash.
 * Run in a child process (tsx) whose stdout is read here.
 */
const dir = mkdtempSync(join(tmpdir(), 'log-dest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function child(body: string) {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.mts`);
  const logging = pathToFileURL(resolve('src/logging/logger.ts')).href;
  const config = pathToFileURL(resolve('src/config/app-config.ts')).href;
  writeFileSync(
    file,
    `import { createRootLogger } from '${logging}';
     import { loadAppConfig } from '${config}';
     const config = await loadAppConfig({ JWT_ACCESS_SECRET: 'q7Zk2vN9pX4sR8tW1yB6cF3hJ5mL0nQ2', LOG_LEVEL: 'info' });
     const log = createRootLogger(config, false);
     ${body}`,
  );
  const p = spawn(process.execPath, ['--import', 'tsx', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: { at: number; line: string }[] = [];
  let rest = '';
  p.stdout.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) lines.push({ at: Date.now(), line });
  });
  const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  return { p, lines, exited };
}

describe('buffered JSON logs on stdout', () => {
  it('a line is written while the process keeps running (the periodic flush, not the exit)', async () => {
    // One short line never fills a chunk: only the periodic flush can write it
    // while the child lives. The child never exits by itself; it is killed here.
    const c = child(`
      log.info({ event: 'probe' }, 'one line');
      setInterval(() => {}, 60_000);`);
    try {
      const probe = await new Promise<string>((resolve, reject) => {
        c.p.stdout.on('data', () => {
          const l = c.lines.find((x) => x.line.includes('"event":"probe"'));
          if (l) resolve(l.line);
        });
        void c.exited.then((code) => reject(new Error(`the child exited (${code}) first`)));
      });
      expect(JSON.parse(probe)).toMatchObject({ level: 'info', msg: 'one line' });
      expect(c.p.exitCode).toBeNull();
    } finally {
      c.p.kill('SIGKILL');
      await c.exited;
    }
  }, 30_000);

  it('a burst of lines comes out whole, once each and in order', async () => {
    // Lines of different lengths, so that chunk boundaries fall mid-line.
    const c = child(`
      for (let i = 0; i < 5000; i++) log.info({ i, pad: 'x'.repeat(i % 97) }, 'burst');
      setTimeout(() => process.exit(0), 4 * ${LOG_FLUSH_MS});`);
    await c.exited;
    const seen = c.lines
      .filter((l) => l.line.includes('"msg":"burst"'))
      .map((l) => (JSON.parse(l.line) as { i: number }).i);
    expect(seen).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  }, 30_000);

  it('every line is written when the process exits or crashes', async () => {
    for (const end of ['process.exit(3)', `setTimeout(() => { throw new Error('boom'); }, 1)`]) {
      const c = child(`for (let i = 0; i < 20; i++) log.info({ i }, 'line'); ${end};`);
      const code = await c.exited;
      expect(code, end).not.toBe(0);
      expect(c.lines.filter((l) => l.line.includes('"msg":"line"')).length, end).toBe(20);
    }
  }, 30_000);
});

describe('the request line', () => {
  it('is the line pino itself writes for the same fields, in the same stream', async () => {
    const c = child(`
      const { requestLineWriter } = await import('${pathToFileURL(resolve('src/logging/logger.ts')).href}');
      const r = { id: 'req-1', method: 'POST', url: '/graphql', remoteAddress: '127.0.0.1', statusCode: 401, responseTime: 3 };
      requestLineWriter(log)('warn', r);
      // Not a root of createRootLogger: the same line through pino.
      requestLineWriter(log.child({}))('warn', r);
      log.info({ event: 'after' }, 'next');
      process.exit(0);`);
    await c.exited;
    const lines = c.lines.map((l) => l.line);
    expect(lines).toHaveLength(3);
    const [direct, viaPino, after] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(direct)).toEqual(Object.keys(viaPino));
    expect({ ...direct, time: 0 }).toEqual({ ...viaPino, time: 0 });
    expect(direct).toMatchObject({
      level: 'warn',
      service: 'auth-api',
      pid: c.p.pid,
      reqId: 'req-1',
      req: { id: 'req-1', method: 'POST', url: '/graphql', remoteAddress: '127.0.0.1' },
      res: { statusCode: 401 },
      responseTime: 3,
      msg: 'request completed',
    });
    expect(direct.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(after).toMatchObject({ event: 'after', msg: 'next' });
  }, 30_000);
});
