import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * The README's curl sequence (register -> me -> refresh -> logout), run as
 * written by bash against a real app: copy-pasteable means it works.
 */
const README = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');

function curlBlock(): string {
  const marker = README.indexOf('<!-- curl-sequence');
  expect(marker).toBeGreaterThan(-1);
  const m = /```sh\n([\s\S]*?)```/.exec(README.slice(marker));
  return m![1];
}

describe('README: the curl sequence', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('runs as written: register, me, refresh, logout, then the access token is refused', async () => {
    const script = curlBlock();
    expect(script).toContain('API=http://localhost:3000/graphql\n');
    // Asynchronous: the app answering curl runs in this process.
    const r = await promisify(execFile)(
      'bash',
      ['-c', script.replace('API=http://localhost:3000/graphql', `API=${t.url}/graphql`)],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.stderr, r.stdout).toBe('');
    const answers = r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { data?: any; errors?: { extensions: { code: string } }[] });
    expect(answers).toHaveLength(5);
    const [register, me, refresh, logout, after] = answers;
    const email = register.data.register.user.email as string;
    expect(email).toMatch(/^ada\+\d+@example\.com$/);
    expect(me.data.me).toMatchObject({ email, name: 'Ada', role: 'USER' });
    expect(refresh.data.refreshToken.refreshToken).not.toBe(register.data.register.refreshToken);
    expect(logout).toEqual({ data: { logout: true } });
    expect(after.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
