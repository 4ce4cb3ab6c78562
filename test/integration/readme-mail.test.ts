import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * The README's development mail walkthrough (register, find the verification
 * mail in DATA_DIR with `npm run mail:links`, verify), run as written by bash
 * against a real app without SMTP_URL.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8');

function mailBlock(): string {
  const marker = README.indexOf('<!-- mail-sequence');
  expect(marker).toBeGreaterThan(-1);
  return /```sh\n([\s\S]*?)```/.exec(README.slice(marker))![1];
}

describe('README: reading development mails', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('runs as written: register, the link from npm run mail:links, verifyEmail answers true', async () => {
    const script = mailBlock();
    expect(script).toContain('API=http://localhost:3000/graphql\n');
    // Asynchronous: the app answering curl runs in this process.
    const r = await promisify(execFile)(
      'bash',
      ['-c', script.replace('API=http://localhost:3000/graphql', `API=${t.url}/graphql`)],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: t.config.dataDir },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(r.stderr, r.stdout).toBe('');
    const answers = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { data?: any });
    expect(answers).toHaveLength(2);
    const email = answers[0].data.register.user.email as string;
    expect(answers[0].data.register.user.emailVerified).toBe(false);
    expect(r.stdout).toContain(`to ${email}  "Confirm your email address"`);
    expect(answers[1]).toEqual({ data: { verifyEmail: true } });
    const user = await t.db.prisma.user.findUniqueOrThrow({ where: { email } });
    expect(user.emailVerifiedAt).not.toBeNull();
  });
});
