import 'reflect-metadata';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import { eventData } from '../audit/audit.repository.js';
import { normaliseEmail } from '../common/rules.js';
import { loadAppConfig, type AppConfig } from '../config/app-config.js';
import { DataDirLockedError, LOCK_FILE } from '../database/data-dir-lock.js';
import { openDatabase } from '../database/prisma.js';
import { Role } from '../generated/prisma/enums.js';

const USAGE = `usage: npm run user:role -- <email> <ADMIN|USER> [--as <admin email>] [--url <graphql url>]

  Without --as: changes the database the server uses (DATABASE_URL, or the
  embedded one in DATA_DIR), for the first admin or when no admin can log in.
  PostgreSQL: any time. Embedded database: only while no server holds DATA_DIR.

  --as <admin email>: goes through a running server's API instead (setUserRole),
  logged in as that admin: the password (and a second-factor code if the
  account has one) is asked for, or read line by line from stdin.
  --url: the server's GraphQL endpoint (default: the one that holds DATA_DIR,
  else http://127.0.0.1:$PORT/graphql).`;

/** What the security log records as the user agent of a change made here. */
export const CLI_AGENT = 'npm run user:role';

interface Args {
  email: string;
  role: Role;
  as?: string;
  url?: string;
}

function parseArgs(argv: string[]): Args | null {
  const rest: string[] = [];
  let as: string | undefined;
  let url: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--as' || argv[i] === '--url') {
      const value = argv[++i];
      if (!value || value.startsWith('--')) return null;
      if (argv[i - 1] === '--as') as = value;
      else url = value;
    } else if (argv[i].startsWith('--')) return null;
    else rest.push(argv[i]);
  }
  const [email, roleArg] = rest;
  const role = roleArg?.toUpperCase() as Role | undefined;
  if (rest.length !== 2 || !email || !role || !Object.values(Role).includes(role)) return null;
  return { email, role, as, url };
}

/**
 * `npm run user:role`: promotes or demotes an account. Two ways, so that a
 * change is never written where the server will not see it:
 *
 * - on the database (no --as): for the first admin when there is no mail to
 *   verify an ADMIN_EMAILS address, or to recover when no admin can log in.
 *   Whoever can open the server's database is trusted with it. On
 *   PostgreSQL this is one transaction the servers see at their next request;
 *   the embedded database belongs to one process, and the DATA_DIR lock makes
 *   this refuse while a server holds it (it says how to go through the API).
 * - through the API (--as <admin>): logs in to the running server as that
 *   admin and calls setUserRole, like any admin client; the session it opened
 *   is logged out at the end.
 *
 * Either way the change and its ROLE_CHANGED event are written together
 * (here with the user agent "npm run user:role" and no actor; through the
 * API with the admin as actor).
 */
async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (!args) {
    console.error(USAGE);
    return 2;
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = await loadAppConfig(process.env);
  return args.as ? throughApi(args, args.as, config) : onDatabase(args, config);
}

async function onDatabase(args: Args, config: AppConfig): Promise<number> {
  let db;
  try {
    db = await openDatabase(config);
  } catch (e) {
    if (!(e instanceof DataDirLockedError)) throw e;
    const h = e.holder;
    console.error(
      [
        `A server holds DATA_DIR ${config.dataDir} (pid ${h.pid}${h.url ? `, serving ${h.url}` : ''}):`,
        'a change written beside it would be lost. Make it through that server, as an admin:',
        `  npm run user:role -- ${args.email} ${args.role} --as <your admin email>`,
        'or stop the server and run this again.',
      ].join('\n'),
    );
    return 1;
  }
  try {
    const email = normaliseEmail(args.email);
    const outcome = await db.prisma.$transaction(async (tx) => {
      const user = await tx.user.findUnique({ where: { email }, select: { id: true } });
      if (!user) return 'unknown' as const;
      const changed = await tx.user.updateMany({
        where: { id: user.id, role: { not: args.role } },
        data: { role: args.role },
      });
      if (changed.count === 0) return 'unchanged' as const;
      await tx.securityEvent.create({
        data: eventData({
          type: 'ROLE_CHANGED',
          userId: user.id,
          client: { ip: null, userAgent: CLI_AGENT, requestId: null },
        }),
      });
      return 'changed' as const;
    });
    if (outcome === 'unknown') {
      console.error(`no user with email ${email}`);
      return 1;
    }
    console.log(
      outcome === 'changed' ? `${email} is now ${args.role}` : `${email} is already ${args.role}`,
    );
    return 0;
  } finally {
    await db.close();
  }
}

/** The GraphQL endpoint of the running server. */
function serverUrl(args: Args, config: AppConfig): string {
  if (args.url) return args.url;
  if (!config.env.DATABASE_URL) {
    try {
      const holder = JSON.parse(readFileSync(join(config.dataDir, LOCK_FILE), 'utf8')) as {
        url?: string;
      };
      if (holder.url) return holder.url;
    } catch {
      /* no server holds DATA_DIR */
    }
  }
  return `http://127.0.0.1:${config.env.PORT}/graphql`;
}

interface GqlError {
  message: string;
  extensions?: { code?: string; mfaToken?: string };
}

async function throughApi(args: Args, admin: string, config: AppConfig): Promise<number> {
  const url = serverUrl(args, config);
  const input = lineReader();
  const call = async <T>(query: string, variables: object, token?: string) => {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': CLI_AGENT,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch (e) {
      throw new Error(
        `no server answers at ${url} (${(e as Error).message}). Give its endpoint with --url, or, when no server runs, leave out --as to change the database directly.`,
      );
    }
    const body = (await res.json()) as { data?: T | null; errors?: GqlError[] };
    return { data: body.data ?? null, error: body.errors?.[0] };
  };
  const fail = (what: string, e?: GqlError) => {
    console.error(
      `${what}: ${e?.message ?? 'no answer'}${e?.extensions?.code ? ` (${e.extensions.code})` : ''}`,
    );
    return 1;
  };

  try {
    const password = await input.secret(`Password of ${admin}: `);
    const login = await call<{ login: { accessToken: string } }>(
      'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
      { input: { email: admin, password } },
    );
    let token = login.data?.login.accessToken;
    if (!token && login.error?.extensions?.code === 'MFA_REQUIRED') {
      const code = await input.line('Second-factor code (or a recovery code): ');
      const mfa = await call<{ verifyMfa: { accessToken: string } }>(
        'mutation($input: VerifyMfaInput!) { verifyMfa(input: $input) { accessToken } }',
        { input: { mfaToken: login.error.extensions.mfaToken, code } },
      );
      if (!mfa.data) return fail(`second factor of ${admin} refused`, mfa.error);
      token = mfa.data.verifyMfa.accessToken;
    }
    if (!token) return fail(`login as ${admin} refused`, login.error);
    try {
      const found = await call<{ userByEmail: { id: string } | null }>(
        'query($email: String!) { userByEmail(email: $email) { id } }',
        { email: args.email },
        token,
      );
      if (found.error) return fail(`looking up ${args.email} as ${admin} refused`, found.error);
      if (!found.data?.userByEmail) {
        console.error(`no user with email ${normaliseEmail(args.email)}`);
        return 1;
      }
      const set = await call<{ setUserRole: { email: string; role: Role } }>(
        'mutation($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { email role } }',
        { userId: found.data.userByEmail.id, role: args.role },
        token,
      );
      if (!set.data) return fail('setUserRole refused', set.error);
      console.log(
        `${set.data.setUserRole.email} is now ${set.data.setUserRole.role} (through ${url}, as ${admin})`,
      );
      return 0;
    } finally {
      // The session this opened ends here (named by its access token).
      await call('mutation { logout }', {}, token).catch(() => undefined);
    }
  } finally {
    input.close();
  }
}

/**
 * Lines from stdin: typed at a terminal (the password without echo), or
 * piped (`printf '%s\n' "$PASSWORD" | npm run user:role -- … --as …`).
 */
function lineReader() {
  const tty = process.stdin.isTTY === true;
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  let rl: Interface | undefined;
  let lines: AsyncIterator<string> | undefined;
  const open = () => {
    rl ??= createInterface({ input: process.stdin, output, terminal: tty });
    lines ??= rl[Symbol.asyncIterator]();
    return lines;
  };
  const read = async (prompt: string, hide: boolean): Promise<string> => {
    const it = open();
    if (tty) process.stderr.write(prompt);
    muted = hide && tty;
    const next = await it.next();
    muted = false;
    if (tty && hide) process.stderr.write('\n');
    if (next.done) throw new Error(`${prompt.trim()} nothing was given on stdin`);
    return next.value;
  };
  return {
    secret: (prompt: string) => read(prompt, true),
    line: (prompt: string) => read(prompt, false),
    close: () => rl?.close(),
  };
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
