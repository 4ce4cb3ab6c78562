import { randomBytes } from 'node:crypto';
import { MailOutbox } from '../../src/mail/mail-outbox.js';
import { MailWorker } from '../../src/mail/mail-worker.js';
import type { TemplateName } from '../../src/mail/templates.js';
import type { TestApp } from './app.js';

/**
 * The mail settings of the tests: the worker polls and retries every ~100 ms,
 * so a mail server that comes back is used at once.
 */
export const FAST_MAIL = {
  MAIL_POLL_INTERVAL: '100ms',
  MAIL_RETRY_DELAY: '100ms',
  MAIL_RETRY_MAX_DELAY: '300ms',
};

/** Every row of every table of the app's database, as one JSON text (to look for secrets in). */
export async function dumpDatabase(t: TestApp): Promise<string> {
  const tables = await t.db.prisma.$queryRawUnsafe<{ name: string }[]>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`,
  );
  const parts: string[] = [];
  for (const { name } of tables) {
    const rows = await t.db.prisma.$queryRawUnsafe<{ j: string }[]>(
      `SELECT row_to_json(x)::text AS j FROM "${name}" x`,
    );
    parts.push(`${name}: ${rows.map((r) => r.j).join('\n')}`);
  }
  return parts.join('\n');
}

/** Queues a mail directly through the outbox (as a feature's transaction would) and wakes the worker. */
export async function queueMail(
  t: TestApp,
  to: string,
  opts: { template?: TemplateName; ttlMs?: number; wake?: boolean } = {},
): Promise<{ id: string; token: string }> {
  const outbox = t.app.get(MailOutbox);
  const token = randomBytes(32).toString('base64url');
  const m = outbox.prepare(to, opts.template ?? 'verify-email', {
    token,
    expiresAt: new Date(Date.now() + (opts.ttlMs ?? 3_600_000)).toISOString(),
  });
  await t.db.prisma.$transaction((tx) => outbox.enqueue(tx, m));
  if (opts.wake !== false) t.app.get(MailWorker).wake();
  return { id: m.id, token };
}

export interface OutboxRow {
  id: string;
  to: string;
  template: string;
  payload: string | null;
  attempts: number;
  nextAttemptAt: Date | null;
  sentAt: Date | null;
  failedAt: Date | null;
  lastError: string | null;
}

export async function outboxRow(t: TestApp, id: string): Promise<OutboxRow | null> {
  return t.db.prisma.mail.findUnique({ where: { id } });
}

/** Polls the database until `check` holds (a barrier on the worker's progress, not a sleep). */
export async function until<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
