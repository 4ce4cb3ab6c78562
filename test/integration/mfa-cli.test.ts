import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_SECRET, type TestApp } from '../support/app.js';
import { buildServer, ROOT } from '../production/support.js';
import { register } from './helpers.js';
import { registerWithMfa, type MfaUser } from './mfa-helpers.js';

/** `npm run user:role -- …` (the built command) with stdin. */
function userRole(
  args: string[],
  stdin: string,
  dataDir: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/src/cli/set-role.js', ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        DATA_DIR: dataDir,
        DATABASE_URL: '',
        JWT_ACCESS_SECRET: TEST_SECRET,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** README "Admins": `npm run user:role -- … --as <admin>` for an admin with a second factor. */
describe('npm run user:role --as an admin with a second factor', () => {
  let t: TestApp;
  let dataDir: string;
  let admin: MfaUser;
  beforeAll(async () => {
    buildServer();
    dataDir = mkdtempSync(join(tmpdir(), 'auth-mfa-cli-'));
    t = await startTestApp();
    admin = await registerWithMfa(t);
    await t.db.prisma.user.update({ where: { id: admin.userId }, data: { role: 'ADMIN' } });
  }, 600_000);
  afterAll(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const roleOf = async (email: string) =>
    (await t.db.prisma.user.findUniqueOrThrow({ where: { email } })).role;

  it('asks for the code after the password; a right one makes the change, a wrong one changes nothing', async () => {
    const bob = await register(t);
    const url = `${t.url}/graphql`;
    const args = [bob.email, 'ADMIN', '--as', admin.email, '--url', url];
    const wrong = await userRole(args, `${admin.password}\n000000\n`, dataDir);
    if (wrong.status === 0) return; // 000000 was the current code (one in a million)
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/second factor of .* refused.*UNAUTHENTICATED/);
    expect(await roleOf(bob.email)).toBe('USER');
    const ok = await userRole(args, `${admin.password}\n${await admin.totp.next()}\n`, dataDir);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(await roleOf(bob.email)).toBe('ADMIN');
    // With a recovery code too.
    const back = await userRole(
      [bob.email, 'USER', '--as', admin.email, '--url', url],
      `${admin.password}\n${admin.recoveryCodes[0]}\n`,
      dataDir,
    );
    expect(back.status).toBe(0);
    expect(await roleOf(bob.email)).toBe('USER');
  });
});
