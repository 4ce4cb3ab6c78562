import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RegisterDocument,
  RequestPasswordResetDocument,
  ResetPasswordDocument,
} from '../generated/graphql.js';
import { createTestDatabase, startTestApp, type TestApp } from '../support/app.js';
import type { OwnedDatabase } from '../support/databases.js';
import { FAST_MAIL, until } from '../support/mail.js';
import { linkToken, startSmtp, type TestSmtp } from '../support/smtp.js';
import { login, op, PASSWORD, register, uniqueEmail } from './helpers.js';

/**
 * docs/api.md, "Email: verification and password reset":
 * requestPasswordReset takes the same time (and the same statements) for a
 * known and an unknown address; sending never makes an answer wait for the
 * mail server; a mail accepted for sending survives the mail server being
 * down and the API restarting.
 */

/**
 * Records the SQL of every statement the app sends while `fn` runs (both
 * drivers: pg's Client for PostgreSQL, PGlite's query/exec for the embedded
 * one), leaving out the mail worker's own (claim and outcome of a mail),
 * which runs in the background whatever the request.
 */
async function statementsOf(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const restore: (() => void)[] = [];
  const patch = (proto: object, name: string) => {
    let owner: object | null = proto;
    while (owner && !Object.prototype.hasOwnProperty.call(owner, name))
      owner = Object.getPrototypeOf(owner) as object | null;
    if (!owner) return;
    const o = owner as Record<string, (...a: unknown[]) => unknown>;
    const original = o[name];
    o[name] = function (this: unknown, ...args: unknown[]) {
      const q = args[0] as string | { text?: string };
      seen.push(typeof q === 'string' ? q : (q?.text ?? String(q)));
      return original.apply(this, args);
    };
    restore.push(() => (o[name] = original));
  };
  patch(pg.Client.prototype, 'query');
  patch(PGlite.prototype, 'query');
  patch(PGlite.prototype, 'exec');
  try {
    await fn();
  } finally {
    restore.forEach((r) => r());
  }
  const worker = /^\s*(UPDATE mail_outbox|WITH d AS)/;
  return seen.map((s) => s.replace(/\s+/g, ' ').trim()).filter((s) => !worker.test(s));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

describe('requestPasswordReset: a known and an unknown address look the same', () => {
  let smtp: TestSmtp;
  let t: TestApp;
  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ ...FAST_MAIL, SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  it('the same statements run for both (exact count and text), and only the known one queues a mail', async () => {
    const a = await register(t);
    // Warm: the first call of any kind prepares what later calls reuse.
    await op(t, RequestPasswordResetDocument, { email: uniqueEmail('warm') });
    const b = await register(t);
    const known = await statementsOf(() => op(t, RequestPasswordResetDocument, { email: a.email }));
    const unknown = await statementsOf(() =>
      op(t, RequestPasswordResetDocument, { email: uniqueEmail('nobody') }),
    );
    const knownAgain = await statementsOf(() =>
      op(t, RequestPasswordResetDocument, { email: b.email }),
    );
    expect(known.length).toBeGreaterThan(0);
    expect(unknown).toEqual(known);
    expect(knownAgain).toEqual(known);
    console.log(
      `requestPasswordReset: ${known.length} statement(s) for a known and an unknown address`,
    );
    await until(
      'reset mails',
      async () =>
        smtp.to(a.email).some((m) => m.subject === 'Reset your password') &&
        smtp.to(b.email).some((m) => m.subject === 'Reset your password'),
    );
  });

  it('takes about the same time for known and unknown addresses (medians within a factor of 2; benchmark-style, not a tight bound)', async () => {
    const N = 25;
    const known: string[] = [];
    for (let i = 0; i < N; i++) known.push((await register(t)).email);
    const unknown = known.map(() => uniqueEmail('ghost'));
    const time = async (email: string) => {
      const t0 = process.hrtime.bigint();
      const r = await op(t, RequestPasswordResetDocument, { email });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      expect(r.data.requestPasswordReset).toBe(true);
      return ms;
    };
    for (let i = 0; i < 5; i++) {
      await time(uniqueEmail('warm'));
    }
    const k: number[] = [];
    const u: number[] = [];
    for (let i = 0; i < N; i++) {
      // Alternate which goes first, so drift of the machine's load hits both alike.
      if (i % 2) {
        k.push(await time(known[i]));
        u.push(await time(unknown[i]));
      } else {
        u.push(await time(unknown[i]));
        k.push(await time(known[i]));
      }
    }
    const mk = median(k);
    const mu = median(u);
    console.log(
      `requestPasswordReset median ms: known ${mk.toFixed(2)}, unknown ${mu.toFixed(2)} (ratio ${(mk / mu).toFixed(2)}, n=${N} each, ${t.db.kind})`,
    );
    expect(mk / mu).toBeGreaterThan(0.5);
    expect(mk / mu).toBeLessThan(2);
  });
});

/**
 * A mail server that accepts connections and never says a word (a hung
 * server): a client waiting for its greeting waits until its own timeout.
 */
async function blackHole(port = 0) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('the mail server hangs or is down while resets are requested', () => {
  let t: TestApp;
  let smtp: TestSmtp | undefined;
  let hole: Awaited<ReturnType<typeof blackHole>>;
  beforeAll(async () => {
    hole = await blackHole();
    t = await startTestApp({ ...FAST_MAIL, SMTP_URL: `smtp://127.0.0.1:${hole.port}` });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
    await hole?.close().catch(() => undefined);
  });

  it('answers come while the worker still waits for the hung server, and the mails arrive once a real server is back', async () => {
    // register queues a verification mail: the worker connects and hangs on the greeting.
    const users = [];
    for (let i = 0; i < 3; i++) users.push(await register(t));
    await until('the worker connected to the hung server', async () => hole.sockets.size > 0);
    const waiting = new Set(hole.sockets);

    const answers = await Promise.all(
      users.map((u) => op(t, RequestPasswordResetDocument, { email: u.email })),
    );
    expect(answers.map((r) => r.data.requestPasswordReset)).toEqual([true, true, true]);
    // The answers did not wait for the mail server: the worker's connection
    // opened before them is still waiting for the server's first word.
    expect([...waiting].some((s) => !s.destroyed)).toBe(true);
    const pending = await t.db.prisma.mail.count({ where: { sentAt: null, failedAt: null } });
    expect(pending).toBe(6); // 3 verification + 3 reset mails, all waiting

    // The server comes back (a real one, same port).
    const port = hole.port;
    await hole.close();
    smtp = await startSmtp({ port });
    for (const u of users) {
      const mail = await smtp.waitFor(
        (m) => m.to.includes(u.email) && m.subject === 'Reset your password',
        60_000,
      );
      const token = linkToken(mail, 'reset-password');
      const r = await op(t, ResetPasswordDocument, {
        input: { token, newPassword: 'back online password' },
      });
      expect(r.data.resetPassword).toBe(true);
      await login(t, u.email, 'back online password');
      await smtp.waitFor((m) => m.to.includes(u.email) && m.text.includes('/verify-email?token='));
    }
    for (const u of users) expect(smtp.to(u.email)).toHaveLength(2);
  });
});

describe('a restart with reset mails pending', () => {
  let smtp: TestSmtp;
  let pgDb: OwnedDatabase | undefined;
  let dir: string;
  beforeAll(async () => {
    smtp = await startSmtp({ started: false }); // down
    pgDb = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'auth-reset-restart-'));
  });
  afterAll(async () => {
    await smtp?.stop();
    await pgDb?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a reset requested while the mail server was down is mailed by the next start on the same database; its link works there', async () => {
    const env = { ...FAST_MAIL, SMTP_URL: smtp.url, ...(pgDb ? { DATABASE_URL: pgDb.url } : {}) };
    const first = await startTestApp(env, { pgliteDir: join(dir, 'pg') });
    const email = uniqueEmail('restart');
    let userId: string;
    try {
      const reg = await op(first, RegisterDocument, { input: { email, password: PASSWORD } });
      userId = reg.data.register.user.id;
      const r = await op(first, RequestPasswordResetDocument, { email });
      expect(r.data.requestPasswordReset).toBe(true);
      await until('both mails tried and failed', async () => {
        const rows = await first.db.prisma.mail.findMany({ where: { to: email } });
        return rows.length === 2 && rows.every((m) => m.attempts >= 1 && m.lastError);
      });
    } finally {
      await first.close();
    }

    await smtp.start();
    const second = await startTestApp(env, { pgliteDir: join(dir, 'pg') });
    try {
      const mail = await smtp.waitFor(
        (m) => m.to.includes(email) && m.subject === 'Reset your password',
      );
      const token = linkToken(mail, 'reset-password');
      const r = await op(second, ResetPasswordDocument, {
        input: { token, newPassword: 'after the restart' },
      });
      expect(r.data.resetPassword).toBe(true);
      const s = await login(second, email, 'after the restart');
      expect(s.user.id).toBe(userId);
      await smtp.waitFor((m) => m.to.includes(email) && m.text.includes('/verify-email?token='));
      expect(smtp.to(email)).toHaveLength(2);
    } finally {
      await second.close();
    }
  });
});
