import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LOG_FLUSH_MS } from '../../src/logging/logging.module.js';

/**
 * The root logger's stdout is buffered (src/logging/logging.module.ts): a
 * line must still come out within LOG_FLUSH_MS while the process runs, and
 * every line must come out when it exits, by process.exit or by a crash.
 * Run in a child process (tsx) whose stdout is read here.
 */
const dir = mkdtempSync(join(tmpdir(), 'log-dest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function child(body: string) {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.mts`);
  const logging = pathToFileURL(resolve('src/logging/logging.module.ts')).href;
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
  it('a line is written within the flush interval while the process keeps running', async () => {
    const c = child(`
      setTimeout(() => { log.info({ event: 'probe' }, 'one line'); console.error('logged ' + Date.now()); }, 300);
      setTimeout(() => process.exit(0), 300 + 10 * ${LOG_FLUSH_MS});`);
    let loggedAt = 0;
    c.p.stderr.on('data', (d: Buffer) => {
      const m = /logged (\d+)/.exec(d.toString());
      if (m) loggedAt = Number(m[1]);
    });
    await c.exited;
    const probe = c.lines.find((l) => l.line.includes('"event":"probe"'));
    expect(probe, 'the line was written').toBeDefined();
    expect(JSON.parse(probe!.line)).toMatchObject({ level: 'info', msg: 'one line' });
    // Well before the exit: written by the periodic flush, not by the exit.
    expect(probe!.at - loggedAt).toBeLessThan(5 * LOG_FLUSH_MS);
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
