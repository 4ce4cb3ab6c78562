#!/usr/bin/env node
// Builds the database of `npm run bench:scale`: one that has lived for three
// years. At BENCH_SCALE=1 (the default; 0.01 for a smoke run):
//   1 M users (one ADMIN), 2 M sessions (5 % live, 50 % revoked, 45 % expired),
//   10 M refresh-token rows (5 per session, rotated into each other),
//   10 M security events (ids UUIDv7 in time order, as the app makes them),
//   1 M sent mails and 10 k pending ones (retrying later), 500 k used or
//   expired account tokens.
// Every row is made by PostgreSQL itself (generate_series, INSERT ... SELECT),
// with the tables' indexes and foreign keys dropped during the load and
// built again after it (one sort per index instead of 10 M random inserts).
//
// The result is a template database, `bench_scale_tpl_<factor>`, made once and
// reused: every bench:scale run works on a copy of it (CREATE DATABASE ...
// TEMPLATE, a file copy), since the run changes it (logins, cleanup). A
// template whose migrations are behind the code gets the new ones applied.
//
//   node bench/scale-seed.mjs [--force]      (needs `npm run build` first)
//
// Environment: BENCH_SCALE (1), BENCH_PG_URL (admin URL), BCRYPT_ROUNDS (12:
// the cost of the one password hash every seeded user shares).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { appPasswordHash } from './lib/common.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const imp = (p) => import(pathToFileURL(join(ROOT, p)).href);

/** Every seeded user's password (the seeded hash is of this). */
export const SCALE_PASSWORD = 'correct horse battery staple';
/** The seeded users' addresses: user<i>@scale.example, i from 1; user1 is the ADMIN. */
export const scaleEmail = (i) => `user${i}@scale.example`;

export function scaleSizes(factor) {
  const n = (x) => Math.max(1, Math.round(x * factor));
  return {
    users: n(1_000_000),
    sessionsPerUser: 2,
    tokensPerSession: 5,
    events: n(10_000_000),
    sentMails: n(1_000_000),
    pendingMails: n(10_000),
    accountTokens: n(500_000),
  };
}

export function templateName(factor) {
  return `bench_scale_tpl_${String(factor).replace(/\W/g, '_')}`;
}

function withDatabase(adminUrl, name) {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

const SEEDED_TABLES = [
  'users',
  'sessions',
  'refresh_tokens',
  'security_events',
  'mail_outbox',
  'account_tokens',
];

/**
 * The seeding SQL. `T` is the seed's "now" (epoch ms). Pseudo-random values
 * come from hashes of the row number (bench_frac), so the data is the same
 * for a given size and the statements need no state.
 */
function seedStatements(s, T, passwordHash) {
  const U = s.users;
  const now = `to_timestamp(${T / 1000})`;
  const span = `interval '1095 days'`;
  const q = (x) => `'${x.replace(/'/g, "''")}'`;
  return [
    // Small SQL functions that PostgreSQL inlines into each statement (STABLE
    // as their bodies are: timestamptz arithmetic is; one declared IMMUTABLE
    // around a STABLE body is not inlined, and a call per row costs ~20x).
    // UUIDv7 from a time and a number: 48-bit ms timestamp, version 7, variant
    // 8, 72 bits from hashes of the number. Each kind of row numbers its keys
    // apart (key * 32 + a kind offset; a key uses k, k+1 and k+2).
    `CREATE FUNCTION bench_v7(ts timestamptz, k bigint) RETURNS uuid LANGUAGE sql STABLE AS $$
       SELECT (lpad(to_hex(floor(extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7'
               || lpad(to_hex(hashint8(k) & 4095), 3, '0') || '8'
               || lpad(to_hex(((hashint8(k + 1)::bigint & 2147483647) << 29)
                              | (hashint8(k + 2)::bigint & 536870911)), 15, '0'))::uuid $$`,
    `CREATE FUNCTION bench_frac(n bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
       SELECT (hashint8(n * 1000003 + salt) & 2147483647)::float8 / 2147483648.0 $$`,
    // User i was created at now - 3 years * (1 - i/U): user U is the newest.
    `CREATE FUNCTION bench_user_ts(i bigint) RETURNS timestamptz LANGUAGE sql STABLE AS $$
       SELECT ${now} - ${span} * (1 - i::float8 / ${U}) $$`,
    `CREATE FUNCTION bench_user_id(i bigint) RETURNS uuid LANGUAGE sql STABLE AS $$
       SELECT bench_v7(bench_user_ts(i), i * 32) $$`,
    `INSERT INTO users (id, email, name, password_hash, role, created_at, updated_at,
                        email_verified_at, disabled_at, mfa_enabled, credentials_version)
     SELECT bench_user_id(i), 'user' || i || '@scale.example', 'User ' || i, ${q(passwordHash)},
            (CASE WHEN i = 1 THEN 'ADMIN' ELSE 'USER' END)::"Role",
            bench_user_ts(i), bench_user_ts(i),
            CASE WHEN bench_frac(i, 1) < 0.9 THEN bench_user_ts(i) + interval '1 hour' END,
            CASE WHEN bench_frac(i, 2) < 0.001 AND i > 1000 THEN ${now} END,
            false, 0
       FROM generate_series(1, ${U}) i`,
    // Two sessions a user: 5 % live, 50 % revoked, 45 % expired.
    `INSERT INTO sessions (id, user_id, user_agent, ip, created_at, last_used_at, expires_at,
                           revoked_at, revoked_reason)
     SELECT bench_v7(c, n * 32 + 3), bench_user_id(u), 'Mozilla/5.0 (X11; Linux x86_64) bench/' || (n % 50),
            '10.' || (n % 250) || '.' || (n / 250 % 250) || '.' || (n % 199), c, c,
            CASE WHEN kind < 0.05 THEN ${now} + interval '1 day' + interval '6 days' * bench_frac(n, 3)
                 ELSE c + interval '7 days' END,
            CASE WHEN kind >= 0.05 AND kind < 0.55 THEN least(${now}, c + interval '1 hour' * bench_frac(n, 4)) END,
            CASE WHEN kind >= 0.05 AND kind < 0.55 THEN 'logout' END
       FROM (SELECT n, (n + 1) / 2 AS u, bench_frac(n, 1) AS kind,
                    CASE WHEN bench_frac(n, 1) < 0.05
                         THEN ${now} - interval '6 days' * bench_frac(n, 2)
                         ELSE greatest(bench_user_ts((n + 1) / 2),
                                       bench_user_ts((n + 1) / 2)
                                       + (${now} - interval '8 days' - bench_user_ts((n + 1) / 2)) * bench_frac(n, 2))
                    END AS c
               FROM generate_series(1, ${U * s.sessionsPerUser}) n) x`,
    // Five refresh tokens a session, each rotated into the next 15 minutes later.
    `INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at, rotated_at,
                                 replaced_by_id)
     SELECT bench_v7(s.created_at + interval '15 minutes' * k, (hashtext(s.id::text)::bigint * 8 + k) * 32 + 21), s.id,
            md5(s.id::text || k || 'a') || md5(s.id::text || k || 'b'),
            s.created_at + interval '15 minutes' * k,
            s.created_at + interval '15 minutes' * k + interval '7 days',
            CASE WHEN k < ${s.tokensPerSession - 1} THEN s.created_at + interval '15 minutes' * (k + 1) END,
            CASE WHEN k < ${s.tokensPerSession - 1}
                 THEN bench_v7(s.created_at + interval '15 minutes' * (k + 1),
                               (hashtext(s.id::text)::bigint * 8 + k + 1) * 32 + 21) END
       FROM sessions s CROSS JOIN generate_series(0, ${s.tokensPerSession - 1}) k`,
    // The security log: each event of a random user, at a random time since its creation.
    `INSERT INTO security_events (id, type, user_id, session_id, ip, user_agent, request_id, created_at)
     SELECT bench_v7(c, n * 32 + 6),
            (CASE WHEN t < 0.45 THEN 'LOGIN' WHEN t < 0.65 THEN 'LOGIN_FAILED'
                  WHEN t < 0.80 THEN 'LOGOUT' WHEN t < 0.85 THEN 'SESSION_REVOKED'
                  WHEN t < 0.88 THEN 'PASSWORD_CHANGED' WHEN t < 0.92 THEN 'PASSWORD_RESET_REQUESTED'
                  WHEN t < 0.94 THEN 'PASSWORD_RESET' WHEN t < 0.97 THEN 'EMAIL_VERIFIED'
                  ELSE 'REFRESH_TOKEN_REUSE' END)::"SecurityEventType",
            bench_user_id(u), CASE WHEN t < 0.45 THEN bench_v7(c, n * 32 + 9) END,
            '10.' || (n % 250) || '.' || (n / 250 % 250) || '.' || (n % 199),
            'Mozilla/5.0 (X11; Linux x86_64) bench/' || (n % 50),
            'req-' || n, c
       FROM (SELECT n, u, bench_frac(n, 13) AS t,
                    bench_user_ts(u) + (${now} - bench_user_ts(u)) * bench_frac(n, 12) AS c
               FROM (SELECT n, 1 + floor(bench_frac(n, 11) * ${U})::bigint AS u
                       FROM generate_series(1, ${s.events}) n) a) b`,
    // Sent mails (payload emptied once sent) and pending ones retrying in an hour or more.
    `INSERT INTO mail_outbox (id, "to", template, payload, created_at, attempts, next_attempt_at,
                              sent_at, failed_at, last_error)
     SELECT bench_v7(c, n * 32 + 12), 'user' || u || '@scale.example',
            CASE WHEN n % 3 = 0 THEN 'password-reset' ELSE 'verify-email' END,
            NULL, c, 1, NULL, c + interval '2 seconds', NULL, NULL
       FROM (SELECT n, 1 + floor(bench_frac(n, 21) * ${U})::bigint AS u,
                    ${now} - ${span} * bench_frac(n, 22) AS c
               FROM generate_series(1, ${s.sentMails}) n) a`,
    `INSERT INTO mail_outbox (id, "to", template, payload, created_at, attempts, next_attempt_at,
                              sent_at, failed_at, last_error)
     SELECT bench_v7(c, n * 32 + 15), 'user' || u || '@scale.example', 'verify-email',
            'bench-pending-' || n, c, 3, ${now} + interval '1 hour' + interval '1 day' * bench_frac(n, 33),
            NULL, NULL, 'connect ECONNREFUSED'
       FROM (SELECT n, 1 + floor(bench_frac(n, 31) * ${U})::bigint AS u,
                    ${now} - interval '1 day' * bench_frac(n, 32) AS c
               FROM generate_series(1, ${s.pendingMails}) n) a`,
    `INSERT INTO account_tokens (id, user_id, purpose, token_hash, email, credentials_version,
                                 created_at, expires_at, used_at)
     SELECT bench_v7(c, n * 32 + 18), bench_user_id(u),
            (CASE WHEN n % 2 = 0 THEN 'RESET_PASSWORD' ELSE 'VERIFY_EMAIL' END)::"AccountTokenPurpose",
            md5('at' || n) || md5('bt' || n), 'user' || u || '@scale.example', 0, c,
            c + interval '1 hour', CASE WHEN bench_frac(n, 43) < 0.5 THEN c + interval '5 minutes' END
       FROM (SELECT n, 1 + floor(bench_frac(n, 41) * ${U})::bigint AS u,
                    ${now} - ${span} * bench_frac(n, 42) - interval '1 day' AS c
               FROM generate_series(1, ${s.accountTokens}) n) a`,
  ];
}

/**
 * Drops the indexes and constraints of `tables` (after reading their
 * definitions) and returns the statements that make them again: indexes
 * first, then primary and unique keys, then foreign keys.
 */
async function dropIndexes(client, tables) {
  const cons = await client.query(
    `SELECT c.conrelid::regclass::text AS tbl, c.conname, c.contype, pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c
      WHERE (c.conrelid = ANY($1::regclass[]) AND c.contype IN ('p','u','f'))
         OR (c.confrelid = ANY($1::regclass[]) AND c.contype = 'f')`,
    [tables],
  );
  const idx = await client.query(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i WHERE i.indrelid = ANY($1::regclass[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p','u'))`,
    [tables],
  );
  const fks = cons.rows.filter((c) => c.contype === 'f');
  const keys = cons.rows.filter((c) => c.contype !== 'f');
  for (const c of fks) await client.query(`ALTER TABLE ${c.tbl} DROP CONSTRAINT "${c.conname}"`);
  for (const c of keys) await client.query(`ALTER TABLE ${c.tbl} DROP CONSTRAINT "${c.conname}"`);
  for (const i of idx.rows) await client.query(`DROP INDEX ${i.name}`);
  return [
    ...idx.rows.map((i) => i.def),
    ...keys.map((c) => `ALTER TABLE ${c.tbl} ADD CONSTRAINT "${c.conname}" ${c.def}`),
    ...fks.map((c) => `ALTER TABLE ${c.tbl} ADD CONSTRAINT "${c.conname}" ${c.def}`),
  ];
}

async function exists(admin, name) {
  const r = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return r.rowCount === 1;
}

/**
 * Makes the template database for `factor` unless a complete one exists
 * (then only applies newer migrations to it); returns its name.
 */
export async function ensureScaleTemplate({
  adminUrl,
  factor = 1,
  force = false,
  bcryptRounds = 12,
  log = console.error,
}) {
  const { applyMigrations, pgSqlClient } = await imp('dist/src/database/migrator.js');
  const name = templateName(factor);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    if (force && (await exists(admin, name))) {
      await admin.query(`ALTER DATABASE ${name} IS_TEMPLATE false`);
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    }
    if (await exists(admin, name)) {
      const c = new pg.Client({ connectionString: withDatabase(adminUrl, name) });
      await c.connect();
      try {
        const done = await c
          .query('SELECT factor FROM bench_seed WHERE complete')
          .then((r) => r.rowCount === 1)
          .catch(() => false);
        if (done) {
          await applyMigrations(pgSqlClient(c), { log: (m) => log(`template: ${m}`) });
          return name;
        }
      } finally {
        await c.end();
      }
      log(`${name} is incomplete: building it again`);
      await admin.query(`ALTER DATABASE ${name} IS_TEMPLATE false`);
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    }
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }

  const sizes = scaleSizes(factor);
  log(`seeding ${name}: ${JSON.stringify(sizes)}`);
  const t0 = Date.now();
  const client = new pg.Client({ connectionString: withDatabase(adminUrl, name) });
  await client.connect();
  try {
    // The seeding backend runs at a lower CPU priority when the bench may
    // renice it (a local PostgreSQL, run as root or as its user): the machine
    // may be shared, and the seed is not what is measured.
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    spawnSync('renice', ['-n', '10', '-p', String(rows[0].pid)], { stdio: 'ignore' });
    await applyMigrations(pgSqlClient(client), { log: () => {} });
    await client.query(`SET maintenance_work_mem = '512MB'`);
    await client.query(`SET work_mem = '64MB'`);
    await client.query(`SET synchronous_commit = off`);
    const passwordHash = await appPasswordHash(ROOT, SCALE_PASSWORD, bcryptRounds);
    const rebuild = await dropIndexes(client, SEEDED_TABLES);
    const T = Date.now();
    for (const sql of seedStatements(sizes, T, passwordHash)) {
      const t = Date.now();
      const r = await client.query(sql);
      const what = /^\s*(INSERT INTO \w+|CREATE FUNCTION \w+)/.exec(sql)?.[1] ?? sql.slice(0, 40);
      log(`  ${what}: ${r.rowCount ?? ''} rows, ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    const t1 = Date.now();
    for (const sql of rebuild) await client.query(sql);
    log(`  indexes and constraints: ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    for (const f of ['bench_user_id', 'bench_user_ts', 'bench_frac', 'bench_v7'])
      await client.query(`DROP FUNCTION ${f}`);
    await client.query('VACUUM (ANALYZE)');
    await client.query(
      `CREATE TABLE bench_seed (factor float8, sizes jsonb, seeded_at timestamptz, seconds int, complete bool)`,
    );
    const seconds = Math.round((Date.now() - t0) / 1000);
    await client.query(
      `INSERT INTO bench_seed VALUES ($1, $2, to_timestamp($3 / 1000.0), $4, true)`,
      [factor, sizes, T, seconds],
    );
    const size = await client.query(
      'SELECT pg_size_pretty(pg_database_size(current_database())) s',
    );
    log(`seeded ${name} in ${seconds} s (${size.rows[0].s})`);
  } finally {
    await client.end();
  }
  const again = new pg.Client({ connectionString: adminUrl });
  await again.connect();
  await again.query(`ALTER DATABASE ${name} IS_TEMPLATE true`);
  await again.end();
  return name;
}

/** A copy of the template (a file copy), for one run; drop() removes it. */
export async function cloneScaleTemplate(adminUrl, template, prefix = 'bench_scale') {
  const name = `${prefix}_${Math.random().toString(16).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template} STRATEGY FILE_COPY`);
  return {
    name,
    url: withDatabase(adminUrl, name),
    async drop() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const name = await ensureScaleTemplate({
    adminUrl: process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    factor: Number(process.env.BENCH_SCALE ?? 1),
    force: process.argv.includes('--force'),
    bcryptRounds: Number(process.env.BCRYPT_ROUNDS ?? 12),
  });
  console.log(name);
}
