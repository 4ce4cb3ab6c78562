import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  printSchema,
  type IntrospectionQuery,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildServer,
  ROOT,
  email,
  gqlAt,
  LOGIN,
  LOGOUT,
  ME,
  REFRESH,
  REGISTER,
  startServer,
  type ServerProcess,
} from './support.js';
import { TEST_PRIVATE_KEY } from '../support/app.js';

/** The built server (`node dist/main.mjs`, what `npm start` runs) as a child process, as in production. */
const SECRET = randomBytes(32).toString('base64url');

function baseEnv(dataDir: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    JWT_ACCESS_SECRET: SECRET,
    // Required in production (ES256 by default).
    JWT_PRIVATE_KEY: TEST_PRIVATE_KEY,
    // Required in production; nothing listens there (mails wait in the outbox).
    SMTP_URL: 'smtp://127.0.0.1:9',
    MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DATA_DIR: dataDir,
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: 'info',
  };
}

beforeAll(() => buildServer(), 120_000);

describe('structured logs without secrets', () => {
  let dataDir: string;
  let s: ServerProcess;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'auth-api-logs-'));
    s = await startServer({ ...baseEnv(dataDir), AUTH_REFRESH_COOKIE: 'true' });
  }, 120_000);
  afterAll(async () => {
    s?.kill('SIGKILL');
    await s?.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a full flow logs JSON lines with request ids and auth events, and none of its secrets', async () => {
    const secrets: string[] = [];
    const password = `Pw-${randomBytes(9).toString('base64url')}`;
    const newPassword = `Pw2-${randomBytes(9).toString('base64url')}`;
    const wrong = `Wrong-${randomBytes(9).toString('base64url')}`;
    secrets.push(password, newPassword, wrong, SECRET);
    const mail = email('logs');
    const requestId = `test-${randomBytes(6).toString('hex')}`;

    const reg = await gqlAt(
      s.url,
      REGISTER,
      { i: { email: mail, password } },
      {
        headers: { 'x-request-id': requestId },
      },
    );
    expect(reg.errors).toBeUndefined();
    expect(reg.headers.get('x-request-id')).toBe(requestId);
    const cookie1 = reg.setCookie[0].split(';')[0];
    secrets.push(reg.data.register.accessToken, cookie1.split('=')[1]);

    expect((await gqlAt(s.url, LOGIN, { i: { email: mail, password: wrong } })).code).toBe(
      'UNAUTHENTICATED',
    );
    const login = await gqlAt(s.url, LOGIN, { i: { email: mail, password } });
    const access = login.data.login.accessToken;
    const cookie2 = login.setCookie[0].split(';')[0];
    secrets.push(access, cookie2.split('=')[1]);

    expect((await gqlAt(s.url, ME, {}, { token: access })).data.me.email).toBe(mail);
    const refreshed = await gqlAt(s.url, REFRESH, {}, { cookie: cookie2 });
    expect(refreshed.errors).toBeUndefined();
    const cookie3 = refreshed.setCookie[0].split(';')[0];
    secrets.push(refreshed.data.refreshToken.accessToken, cookie3.split('=')[1]);
    const changed = await gqlAt(
      s.url,
      `mutation($i: ChangePasswordInput!) { changePassword(input: $i) }`,
      { i: { currentPassword: password, newPassword } },
      { token: refreshed.data.refreshToken.accessToken },
    );
    expect(changed.errors).toBeUndefined();
    // A forged token and a junk cookie: logged requests, never their values.
    const junk = `junk${randomBytes(12).toString('hex')}`;
    secrets.push(junk);
    await gqlAt(s.url, ME, {}, { token: junk, cookie: `refresh_token=${junk}` });
    // Variables in a GET query string are not logged either.
    await fetch(
      `${s.url}/graphql?query=${encodeURIComponent('{ __typename }')}&variables=${encodeURIComponent(JSON.stringify({ p: junk }))}`,
      { headers: { 'apollo-require-preflight': 'true' } },
    );
    expect(
      (
        await gqlAt(
          s.url,
          LOGOUT,
          {},
          { cookie: cookie3, token: refreshed.data.refreshToken.accessToken },
        )
      ).data.logout,
    ).toBe(true);

    await s.waitForLine((l) => l.event === 'logout', 10_000);

    // Past AUTH_RATE_LIMIT (20 a minute) refreshToken is refused and logged as
    // rate_limited; the junk tokens it was given are never logged.
    let limited = 0;
    for (let i = 0; i < 25 && !limited; i++) {
      const r = await gqlAt(s.url, REFRESH, { i: { refreshToken: junk } });
      if (r.code === 'TOO_MANY_REQUESTS') limited = i + 1;
    }
    expect(limited).toBeGreaterThan(0);
    // The rate_limited event is the last thing logged by the flow.
    await s.waitForLine((l) => l.event === 'rate_limited', 10_000);
    // Stopped before the scan: every buffered line is written at exit, so the
    // scan below reads all that the flow logged, not what was flushed so far.
    const closed = new Promise((r) => s.child.once('close', r));
    s.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    await closed;
    const out = s.lines.join('\n');

    // Every stdout line is a JSON object with a level and a time.
    for (const line of s.lines) {
      const o = JSON.parse(line);
      expect(o.level, line).toBeTruthy();
      expect(o.time, line).toBeTruthy();
    }
    const parsed = s.lines.map((l) => JSON.parse(l));
    // Auth events come out as JSON, with the id of their request.
    const register = parsed.find((o) => o.event === 'register');
    expect(register).toMatchObject({ event: 'register', reqId: requestId });
    expect(register.userId).toBe(reg.data.register.user.id);
    // Every auth event carries the id of the request that caused it: an id
    // some "request completed" line has too, and a different one per request.
    const requestIds = new Set(
      parsed.filter((o) => o.msg === 'request completed').map((o) => o.req?.id),
    );
    const events = [
      'register',
      'login_failed',
      'login',
      'refresh',
      'password_changed',
      'logout',
      'rate_limited',
    ];
    const eventIds = events.map((name) => {
      const line = parsed.find((o) => o.event === name);
      expect(line, name).toBeDefined();
      expect(requestIds.has(line.reqId), `${name} reqId ${line.reqId}`).toBe(true);
      // ... and the client's address (the test connects over loopback)
      expect(line.ip, `${name} ip`).toBe('127.0.0.1');
      return line.reqId;
    });
    expect(new Set(eventIds).size).toBe(events.length);
    // One line per request, with the same id the client got back.
    expect(
      parsed.some(
        (o) =>
          o.msg === 'request completed' && o.req?.id === requestId && o.res?.statusCode === 200,
      ),
    ).toBe(true);

    for (const secret of secrets) expect(out.includes(secret), 'a secret was logged').toBe(false);
    expect(out).not.toMatch(/bearer|authorization|set-cookie|"cookie"/i);
  });
});

function rawPost(url: string, body: string) {
  const u = new URL(`${url}/graphql`);
  const req = http.request({
    host: u.hostname,
    port: u.port,
    path: u.pathname,
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
  });
  return { req, response };
}

function canConnect(url: string): Promise<boolean> {
  return fetch(`${url}/health/live`, { signal: AbortSignal.timeout(3000) }).then(
    () => true,
    () => false,
  );
}

describe('production refuses to start without a mail server', () => {
  it('no SMTP_URL: exits 1 naming it, before opening anything', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'auth-api-nosmtp-'));
    try {
      const env: Record<string, string> = { ...baseEnv(dataDir), PATH: process.env.PATH ?? '' };
      delete env.SMTP_URL;
      const r = spawnSync(process.execPath, ['dist/main.mjs'], {
        cwd: ROOT,
        env,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('SMTP_URL: is required in production');
      expect(r.stdout).not.toContain('"event":"listening"');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('graceful shutdown (SIGTERM) and restart', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'auth-api-shutdown-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('finishes the request in flight, stops accepting, closes the database, loses nothing', async () => {
    const s = await startServer(baseEnv(dataDir));
    let exitCode: number | null = null;
    try {
      const first = email('before');
      const password = 'correct horse battery';
      expect(
        (await gqlAt(s.url, REGISTER, { i: { email: first, password } })).errors,
      ).toBeUndefined();

      // A register whose body is still arriving when SIGTERM comes.
      const inFlightEmail = email('inflight');
      const body = JSON.stringify({
        query: REGISTER,
        variables: { i: { email: inFlightEmail, password } },
      });
      const { req, response } = rawPost(s.url, body);
      req.write(body.slice(0, 20));
      await new Promise((r) => setTimeout(r, 300));
      s.kill('SIGTERM');
      await s.waitForLine((l) => l.event === 'shutdown', 10_000);

      // No new connection is accepted any more.
      expect(await canConnect(s.url)).toBe(false);

      // The request in flight completes normally.
      req.end(body.slice(20));
      const res = await response;
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).errors).toBeUndefined();

      exitCode = await Promise.race([
        s.exited,
        new Promise<number>((r) => setTimeout(() => r(-1), 15_000)),
      ]);
      expect(exitCode).toBe(0);
      expect(s.lines.some((l) => l.includes('"event":"stopped"'))).toBe(true);

      // A restart on the same data directory has both accounts.
      const s2 = await startServer(baseEnv(dataDir));
      try {
        for (const m of [first, inFlightEmail]) {
          const r = await gqlAt(s2.url, LOGIN, { i: { email: m, password } });
          expect(r.errors, m).toBeUndefined();
        }
      } finally {
        s2.kill('SIGTERM');
        await s2.exited;
      }
    } finally {
      if (exitCode === null) {
        s.kill('SIGKILL');
        await s.exited;
      }
    }
  });
});

describe('the one-file bundle that npm start runs', () => {
  it('serves exactly the committed schema.gql (type and field names survive bundling)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'auth-api-bundle-'));
    // Outside production, so that introspection is on.
    const s = await startServer({ NODE_ENV: 'development', DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    try {
      const r = await gqlAt<IntrospectionQuery>(s.url, getIntrospectionQuery());
      expect(r.errors).toBeUndefined();
      const served = printSchema(buildClientSchema(r.data));
      const committed = printSchema(buildSchema(readFileSync(join(ROOT, 'schema.gql'), 'utf8')));
      expect(served).toBe(committed);
    } finally {
      s.kill('SIGTERM');
      await s.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
