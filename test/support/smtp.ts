import net from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A mail as the test SMTP server received it, parsed (quoted-printable and all decoded). */
export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  /** The plain-text part, decoded. */
  text: string;
  html: string;
  headers: ParsedMail['headers'];
  raw: string;
}

/**
 * A real SMTP server (smtp-server) on a loopback port, for the tests: no TLS
 * (STARTTLS disabled), no authentication required. It can be stopped and
 * started again on the same port (a mail server that is down for a while).
 */
export interface TestSmtp {
  url: string;
  port: number;
  mails: ReceivedMail[];
  /** Resolves with the first mail (received so far or later) that matches. */
  waitFor(pred: (m: ReceivedMail) => boolean, ms?: number): Promise<ReceivedMail>;
  /** Mails to this address. */
  to(address: string): ReceivedMail[];
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Refuse every recipient with this SMTP code (e.g. 550) from now on, or accept again (null). */
  rejectRecipients(code: number | null): void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startSmtp(
  opts: { port?: number; started?: boolean } = {},
): Promise<TestSmtp> {
  const port = opts.port ?? (await freePort());
  const mails: ReceivedMail[] = [];
  const waiters: { pred: (m: ReceivedMail) => boolean; resolve: (m: ReceivedMail) => void }[] = [];
  let server: SMTPServer | null = null;
  let rejectCode: number | null = null;

  const make = () =>
    new SMTPServer({
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      logger: false,
      // stop() drops the client's kept-alive connections at once (default: waits 30 s).
      closeTimeout: 100,
      onRcptTo(address, _session, cb) {
        if (rejectCode === null) return cb();
        const err = new Error(`mailbox ${address.address} unavailable`) as Error & {
          responseCode: number;
        };
        err.responseCode = rejectCode;
        cb(err);
      },
      onData(stream, _session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          simpleParser(raw).then(
            (p) => {
              const to = (Array.isArray(p.to) ? p.to : p.to ? [p.to] : []).flatMap((a) =>
                a.value.map((v) => v.address ?? ''),
              );
              const mail: ReceivedMail = {
                to,
                from: p.from?.text ?? '',
                subject: p.subject ?? '',
                text: p.text ?? '',
                html: typeof p.html === 'string' ? p.html : '',
                headers: p.headers,
                raw: raw.toString('utf8'),
              };
              mails.push(mail);
              for (const w of [...waiters]) {
                if (w.pred(mail)) {
                  waiters.splice(waiters.indexOf(w), 1);
                  w.resolve(mail);
                }
              }
              cb();
            },
            (e: Error) => cb(e),
          );
        });
      },
    });

  const start = async () => {
    if (server) return;
    const s = make();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    s.on('error', () => undefined);
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  if (opts.started !== false) await start();

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails,
    to: (address) => mails.filter((m) => m.to.includes(address)),
    waitFor(pred, ms = 30_000) {
      const found = mails.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no such mail within ${ms} ms (${mails.length} received)`));
        }, ms);
        const w = {
          pred,
          resolve: (m: ReceivedMail) => {
            clearTimeout(t);
            resolve(m);
          },
        };
        waiters.push(w);
      });
    },
    stop,
    start,
    rejectRecipients(code) {
      rejectCode = code;
    },
  };
}

/** The token of the first `{APP_URL}/<page>?token=…` link in a mail's plain-text part. */
export function linkToken(mail: ReceivedMail, page: 'verify-email' | 'reset-password'): string {
  const m = new RegExp(`/${page}\\?token=([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])`).exec(mail.text);
  if (!m) throw new Error(`no ${page} link in the mail's text:\n${mail.text}`);
  return m[1];
}
