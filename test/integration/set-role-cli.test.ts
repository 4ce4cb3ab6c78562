import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.factory.js';
import { loadAppConfig, type AppConfig } from '../../src/config/app-config.js';
import { openDatabase, type Database } from '../../src/database/prisma.js';
import { LoginDocument, MeDocument, UsersDocument } from '../generated/graphql.js';
import { gqlAt, startTestApp, TEST_SECRET, type TestApp } from '../support/app.js';
import { buildServer, ROOT } from '../production/support.js';
import { PASSWORD, uniqueEmail } from './helpers.js';

/** `npm run user:role -- …` (the built command), with stdin; never blocks this process. */
function userRole(
  args: string[],
  env: Record<string, string>,
  stdin = '',
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/src/cli/set-role.js', ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** A server in this process on a DATA_DIR of its own (holding its lock, as `npm start` does). */
async function startOn(
  config: AppConfig,
): Promise<{ url: string; db: Database; app: NestFastifyApplication }> {
  const db = await openDatabase(config);
  const app = await createApp(config, { database: db, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  db.dataDirLock?.update({ url: `${url}/graphql` });
  return { url, db, app };
}

/** Issue 17, "Loses data": the CLI never writes where a running server would not see it. */
describe('npm run user:role on the embedded database', () => {
  let dataDir: string;
  let config: AppConfig;
  let server: Awaited<ReturnType<typeof startOn>> | undefined;
  let env: Record<string, string>;
  const admin = { email: uniqueEmail('cli-admin'), id: '' };
  const bob = { email: uniqueEmail('cli-bob'), id: '', token: '' };
  const carol = { email: uniqueEmail('cli-carol'), id: '', token: '' };

  const gql = <T = any>(q: unknown, vars?: Record<string, unknown>, token?: string) =>
    gqlAt<T>(server!.url, q, vars, { token });
  const roleOf = async (email: string) =>
    (await server!.db.prisma.user.findUniqueOrThrow({ where: { email } })).role;
  const register = async (u: { email: string; id: string; token?: string }) => {
    const r = await gql(
      `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
      { input: { email: u.email, password: PASSWORD } },
    );
    expect(r.errors).toBeUndefined();
    u.id = r.data.register.user.id;
    if ('token' in u) u.token = r.data.register.accessToken;
  };

  beforeAll(async () => {
    buildServer();
    dataDir = mkdtempSync(join(tmpdir(), 'auth-cli-'));
    env = {
      DATA_DIR: dataDir,
      DATABASE_URL: '',
      JWT_ACCESS_SECRET: TEST_SECRET,
      BCRYPT_ROUNDS: '4',
      RETENTION_INTERVAL: '0',
    };
    config = await loadAppConfig({ NODE_ENV: 'test', ...env });
    server = await startOn(config);
    await register(admin);
    await register(bob);
    await register(carol);
    await server.db.prisma.user.update({ where: { id: admin.id }, data: { role: 'ADMIN' } });
  }, 600_000);
  afterAll(async () => {
    await server?.app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('without --as, refuses while a server holds DATA_DIR, and says how to go through it', async () => {
    const r = await userRole([bob.email, 'ADMIN'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${server!.url}/graphql`);
    expect(r.stderr).toContain(`--as <your admin email>`);
    expect(await roleOf(bob.email)).toBe('USER');
  });

  it('with --as an admin, goes through the running server: the change is live at once and recorded with the admin as actor', async () => {
    const sessionsOfAdmin = () =>
      server!.db.prisma.session.count({ where: { userId: admin.id, revokedAt: null } });
    const before = await sessionsOfAdmin();
    const r = await userRole(
      [bob.email.toUpperCase(), 'admin', '--as', admin.email],
      env,
      `${PASSWORD}\n`,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${bob.email} is now ADMIN`);
    // The server saw it: Bob's existing token lists users now.
    expect((await gql(UsersDocument, {}, bob.token)).errors).toBeUndefined();
    const events = await server!.db.prisma.securityEvent.findMany({
      where: { userId: bob.id, type: 'ROLE_CHANGED' },
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: admin.id, userAgent: 'npm run user:role' });
    // The CLI's own session was logged out.
    expect(await sessionsOfAdmin()).toBe(before);
    // Nothing to say about the password anywhere.
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  it('with --as, a wrong password or a non-admin changes nothing', async () => {
    const wrong = await userRole(
      [bob.email, 'USER', '--as', admin.email],
      env,
      'not the password\n',
    );
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/login as .* refused.*UNAUTHENTICATED/);
    const notAdmin = await userRole([bob.email, 'USER', '--as', carol.email], env, `${PASSWORD}\n`);
    expect(notAdmin.status).toBe(1);
    expect(notAdmin.stderr).toContain('FORBIDDEN');
    expect(await roleOf(bob.email)).toBe('ADMIN');
  });

  it('with --as, a server that does not answer is an error', async () => {
    const away = await userRole(
      [carol.email, 'ADMIN', '--as', admin.email, '--url', 'http://127.0.0.1:9/graphql'],
      env,
      `${PASSWORD}\n`,
    );
    expect(away.status).toBe(1);
    expect(away.stderr).toContain('no server answers at http://127.0.0.1:9/graphql');
    expect(await roleOf(carol.email)).toBe('USER');
  });

  it('with no server running, changes the database directly, and the server started after sees it', async () => {
    await server!.app.close();
    server = undefined;
    const r = await userRole([carol.email, 'ADMIN'], env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${carol.email} is now ADMIN`);
    const unknown = await userRole(['nobody@example.com', 'ADMIN'], env);
    expect(unknown.status).toBe(1);

    server = await startOn(config);
    const l = await gql(LoginDocument, { input: { email: carol.email, password: PASSWORD } });
    expect((await gql(MeDocument, {}, l.data.login.accessToken)).data.me.role).toBe('ADMIN');
    const events = await server.db.prisma.securityEvent.findMany({
      where: { userId: carol.id, type: 'ROLE_CHANGED' },
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: null, userAgent: 'npm run user:role', ip: null });
  });

  it('refuses bad arguments with its usage', async () => {
    const r = await userRole([bob.email, 'ROOT'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage: npm run user:role');
  });
});

/** PostgreSQL: a direct change is one transaction the running servers see at their next request. */
describe.skipIf(!process.env.TEST_DATABASE_URL)('npm run user:role on PostgreSQL', () => {
  let t: TestApp;
  beforeAll(async () => {
    buildServer();
    t = await startTestApp({ RETENTION_INTERVAL: '0' });
  }, 600_000);
  afterAll(() => t?.close());

  it('changes the role while the server runs; the server sees it at once', async () => {
    const email = uniqueEmail('cli-pg');
    const reg = await t.gql(
      `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
      { input: { email, password: PASSWORD } },
    );
    const token = reg.data.register.accessToken as string;
    expect((await t.gql(UsersDocument, {}, { token })).code).toBe('FORBIDDEN');
    const r = await userRole([email, 'ADMIN'], { DATABASE_URL: t.databaseUrl! });
    expect(r.status).toBe(0);
    expect((await t.gql(UsersDocument, {}, { token })).errors).toBeUndefined();
    const events = await t.db.prisma.securityEvent.findMany({
      where: { userId: reg.data.register.user.id, type: 'ROLE_CHANGED' },
    });
    expect(events.map((e) => e.userAgent)).toEqual(['npm run user:role']);
  });
});
