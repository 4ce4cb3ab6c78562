import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailWorker } from '../../src/mail/mail-worker.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createPgDatabase, type OwnedDatabase } from '../support/databases.js';
import { dumpDatabase, FAST_MAIL, outboxRow, queueMail, until } from '../support/mail.js';
import { missing, PG_SERVER_URL } from '../support/services.js';
import { linkToken, startSmtp, type TestSmtp } from '../support/smtp.js';
import { uniqueEmail } from './helpers.js';

/**
 * The transactional outbox and its worker (src/mail), against a real SMTP
 * server (smtp-server) started here: delivery, retries while the server is
 * down, a claim that outlives its instance, giving up, and two instances
 * sharing one outbox (a restart with mails pending, through the API, is in
 * account-reset-delivery.test.ts). Mails are queued directly
 * through MailOutbox here; test/integration/account-mail.test.ts does the
 * same through the API.
 */

/** Every log line of every app of this file (the server's redaction applies). */
const lines: string[] = [];
/** Every token queued by this file: none may appear in a log line or a database row. */
const tokens: string[] = [];

function logged(event: string): Record<string, unknown>[] {
  return lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.event === event);
}

describe('mail outbox over SMTP', () => {
  let smtp: TestSmtp;
  let t: TestApp;
  const LEASE_MS = 3000;

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp(
      {
        ...FAST_MAIL,
        SMTP_URL: smtp.url,
        APP_URL: 'https://app.example.com/base',
        MAIL_FROM: 'Auth Test <auth@example.com>',
        MAIL_CLAIM_LEASE: `${LEASE_MS}ms`,
      },
      { logLines: lines },
    );
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  it('delivers a queued mail: the plain-text part carries {APP_URL}/<page>?token=<token>; the row keeps no payload', async () => {
    const to = uniqueEmail('deliver');
    const { id, token } = await queueMail(t, to);
    tokens.push(token);
    const mail = await smtp.waitFor((m) => m.to.includes(to));
    expect(mail.subject).toBe('Confirm your email address');
    expect(mail.from).toContain('auth@example.com');
    expect(mail.text).toContain(`https://app.example.com/base/verify-email?token=${token}`);
    expect(linkToken(mail, 'verify-email')).toBe(token);
    expect(mail.html).toContain(`https://app.example.com/base/verify-email?token=${token}`);
    const row = await until(
      'sent_at',
      async () => (await outboxRow(t, id))?.sentAt && outboxRow(t, id),
    );
    expect(row).toMatchObject({ payload: null, nextAttemptAt: null, failedAt: null, attempts: 1 });

    const reset = await queueMail(t, to, { template: 'reset-password' });
    tokens.push(reset.token);
    const m2 = await smtp.waitFor((m) => m.to.includes(to) && m.subject === 'Reset your password');
    expect(m2.text).toContain(`https://app.example.com/base/reset-password?token=${reset.token}`);
  });

  it('the payload rests encrypted: no token in the row while the mail waits', async () => {
    const to = uniqueEmail('encrypted');
    const { id, token } = await queueMail(t, to, { wake: false });
    tokens.push(token);
    const row = await outboxRow(t, id);
    expect(row?.payload).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(row?.payload).not.toContain(token);
    expect(JSON.stringify(row)).not.toContain(token);
    t.app.get(MailWorker).wake();
    await smtp.waitFor((m) => m.to.includes(to));
  });

  it('while the mail server is down the mail waits and is retried with growing delays; it arrives once the server is back', async () => {
    await smtp.stop();
    const to = uniqueEmail('down');
    const { id, token } = await queueMail(t, to);
    tokens.push(token);
    const failed = await until('two failed attempts', async () => {
      const r = await outboxRow(t, id);
      return r && r.attempts >= 2 && r;
    });
    expect(failed.sentAt).toBeNull();
    expect(failed.failedAt).toBeNull();
    expect(failed.lastError).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
    expect(failed.payload).not.toBeNull(); // kept (encrypted) for the next attempt
    const retries = logged('mail_retry').filter((l) => l.mailId === id);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    // MAIL_RETRY_DELAY 100ms doubling up to MAIL_RETRY_MAX_DELAY 300ms.
    expect(retries[0].retryInMs).toBe(100);
    const later = await until('a third attempt', async () => {
      const r = await outboxRow(t, id);
      return r && r.attempts >= 3 && r;
    });
    expect(logged('mail_retry').find((l) => l.mailId === id && l.attempts === 2)?.retryInMs).toBe(
      200,
    );
    expect(later.sentAt).toBeNull();

    await smtp.start();
    const mail = await smtp.waitFor((m) => m.to.includes(to));
    expect(linkToken(mail, 'verify-email')).toBe(token);
    await until('sent', async () => (await outboxRow(t, id))?.sentAt);
    expect(smtp.to(to)).toHaveLength(1);
  });

  it('a mail claimed by an instance that died is sent after the claim lease ends', async () => {
    const to = uniqueEmail('lease');
    const { id, token } = await queueMail(t, to, { wake: false });
    tokens.push(token);
    // What a claim by another instance leaves, had that instance died before sending.
    await t.db.prisma.$executeRawUnsafe(
      `UPDATE mail_outbox SET attempts = 1, next_attempt_at = now() + $2::float8 * interval '1 millisecond'
        WHERE id = $1::uuid`,
      id,
      LEASE_MS,
    );
    const worker = t.app.get(MailWorker);
    worker.wake();
    await worker.idle();
    expect(smtp.to(to)).toHaveLength(0); // still leased: not this worker's to send
    const mail = await smtp.waitFor((m) => m.to.includes(to));
    expect(linkToken(mail, 'verify-email')).toBe(token);
    const row = await until(
      'sent',
      async () => (await outboxRow(t, id))?.sentAt && outboxRow(t, id),
    );
    expect(row?.attempts).toBe(2);
    expect(smtp.to(to)).toHaveLength(1);
  });

  it('a recipient the server refuses for good (550) is given up at once, logged without the token', async () => {
    smtp.rejectRecipients(550);
    try {
      const to = uniqueEmail('refused');
      const { id, token } = await queueMail(t, to);
      tokens.push(token);
      const row = await until(
        'given up',
        async () => (await outboxRow(t, id))?.failedAt && outboxRow(t, id),
      );
      expect(row).toMatchObject({ attempts: 1, payload: null, nextAttemptAt: null, sentAt: null });
      expect(row?.lastError).toContain('550');
      const line = logged('mail_given_up').find((l) => l.mailId === id);
      expect(line).toMatchObject({
        level: 'error',
        template: 'verify-email',
        recipientDomain: 'example.com',
      });
    } finally {
      smtp.rejectRecipients(null);
    }
  });

  it('a mail whose link expired before it could be delivered is given up, not sent', async () => {
    const to = uniqueEmail('expired');
    const { id, token } = await queueMail(t, to, { ttlMs: -1000 });
    tokens.push(token);
    const row = await until(
      'given up',
      async () => (await outboxRow(t, id))?.failedAt && outboxRow(t, id),
    );
    expect(row).toMatchObject({
      payload: null,
      sentAt: null,
      lastError: 'its link expired before it could be delivered',
    });
    await t.app.get(MailWorker).idle();
    expect(smtp.to(to)).toHaveLength(0);
  });

  it('no row of the database holds any of the tokens queued, sent, retried or given up above', async () => {
    const dump = await dumpDatabase(t);
    expect(dump).toContain('mail_outbox');
    expect(tokens.length).toBeGreaterThan(5);
    for (const token of tokens) expect(dump.includes(token), 'a token in the database').toBe(false);
  });
});

describe('giving up after MAIL_GIVE_UP_AFTER', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp({ started: false }); // a mail server that never answers
    t = await startTestApp(
      { ...FAST_MAIL, SMTP_URL: smtp.url, MAIL_GIVE_UP_AFTER: '1s' },
      { logLines: lines },
    );
  });
  afterAll(() => t?.close());

  it('a mail not delivered within MAIL_GIVE_UP_AFTER is given up: payload removed, an error logged without its token', async () => {
    const to = uniqueEmail('giveup');
    const { id, token } = await queueMail(t, to);
    tokens.push(token);
    const row = await until(
      'given up',
      async () => (await outboxRow(t, id))?.failedAt && outboxRow(t, id),
    );
    expect(row?.attempts).toBeGreaterThan(1);
    expect(row).toMatchObject({ payload: null, nextAttemptAt: null, sentAt: null });
    const line = logged('mail_given_up').find((l) => l.mailId === id);
    expect(line?.level).toBe('error');
    expect(JSON.stringify(line)).not.toContain(token);
    expect(JSON.stringify(line)).not.toContain(to); // the domain only
  });
});

describe.skipIf(missing('postgres'))('two instances sharing one outbox (PostgreSQL)', () => {
  let smtp: TestSmtp;
  let db: OwnedDatabase;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    smtp = await startSmtp({ started: false });
    db = await createPgDatabase(PG_SERVER_URL, 'authmail');
    const env = { ...FAST_MAIL, SMTP_URL: smtp.url, DATABASE_URL: db.url };
    a = await startTestApp(env, { logLines: lines });
    b = await startTestApp(env, { logLines: lines });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
    await smtp?.stop();
  });

  it('each mail is sent exactly once while both workers race for them', async () => {
    const N = 60;
    const queued: { id: string; token: string; to: string }[] = [];
    for (let i = 0; i < N; i++) {
      const to = uniqueEmail(`pair${i}`);
      queued.push({ ...(await queueMail(i % 2 ? a : b, to)), to });
    }
    tokens.push(...queued.map((q) => q.token));
    // Both workers have failed on some of them (server down), so retries of both are due together.
    await until('both instances tried', async () => {
      const ids = new Set(logged('mail_retry').map((l) => l.mailId));
      return queued.filter((q) => ids.has(q.id)).length >= N / 2;
    });
    await smtp.start();
    a.app.get(MailWorker).wake();
    b.app.get(MailWorker).wake();
    await until('all sent', async () => {
      const n = await a.db.prisma.mail.count({ where: { sentAt: { not: null } } });
      return n === N;
    });
    await Promise.all([a.app.get(MailWorker).idle(), b.app.get(MailWorker).idle()]);
    for (const q of queued) expect(smtp.to(q.to), q.to).toHaveLength(1);
    expect(smtp.mails).toHaveLength(N);
    expect(logged('mail_claim_lost')).toEqual([]);
  });
});

describe('without SMTP_URL (development): .eml files in DATA_DIR/mail', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ...FAST_MAIL }, { logLines: lines });
  });
  afterAll(() => t?.close());

  it('writes the mail as an .eml file and logs its path, not its token', async () => {
    const to = uniqueEmail('eml');
    const { id, token } = await queueMail(t, to);
    tokens.push(token);
    const line = await until('mail_written', async () =>
      logged('mail_written').find((l) => l.mailId === id),
    );
    const path = line.path as string;
    expect(path.startsWith(join(t.config.dataDir, 'mail'))).toBe(true);
    expect(path).toMatch(/\.eml$/);
    expect(readdirSync(join(t.config.dataDir, 'mail'))).toContain(path.split('/').pop());
    const parsed = await simpleParser(readFileSync(path));
    expect(parsed.text).toContain(`http://localhost:5173/verify-email?token=${token}`);
    expect((parsed.to as { text: string }).text).toBe(to);
    await until('sent', async () => (await outboxRow(t, id))?.sentAt);

    // `npm run mail:links` prints each mail's link, decoded.
    const out = execFileSync(process.execPath, ['scripts/mail-links.mjs'], {
      env: { PATH: process.env.PATH, DATA_DIR: t.config.dataDir },
      encoding: 'utf8',
    });
    expect(out).toContain(`to ${to}`);
    expect(out).toContain(`  http://localhost:5173/verify-email?token=${token}\n`);
  });
});

describe('no token at rest or in the logs', () => {
  it('no log line of this file holds any of its tokens', () => {
    expect(tokens.length).toBeGreaterThan(10);
    expect(lines.length).toBeGreaterThan(10);
    for (const token of tokens)
      for (const l of lines) expect(l.includes(token), `token in: ${l}`).toBe(false);
  });
});
