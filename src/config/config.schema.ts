import { z } from 'zod';
import {
  isAsymmetric,
  JWT_ALGORITHMS,
  parsePrivateKeyPem,
  parsePublicKeysPem,
} from '../keys/key-material.js';
import { parseDuration } from './duration.js';

/**
 * The one schema for every environment variable the server reads. It is
 * parsed once at start; a bad value stops the start with a message naming
 * the variable. See .env.example for documentation of each.
 */
const duration = (name: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === null || ms < min || ms > max) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be a duration like 900, 15m, 2s or 7d, between ${min / 1000}s and ${max / 1000}s`,
        });
        return z.NEVER;
      }
      return ms;
    });

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', ''].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

function isExactOrigin(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === value;
  } catch {
    return false;
  }
}

function isBaseUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && !u.search && !u.hash;
  } catch {
    return false;
  }
}

/** A key of 32 bytes in base64 (standard or url-safe alphabet, padding optional). */
export function isKey32(value: string): boolean {
  return /^[A-Za-z0-9+/_-]{43}=?$/.test(value) && Buffer.from(value, 'base64').length === 32;
}

const PLACEHOLDER_SECRETS = new Set([
  'changeme',
  'change-me',
  'secret',
  'jwt-secret',
  'your-secret',
  'replace-me',
  'CHANGE_ME_TO_A_LONG_RANDOM_STRING',
]);

export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: int(0, 65535).default(3000),
    HOST: z.string().trim().min(1).default('0.0.0.0'),
    DATABASE_URL: z
      .string()
      .trim()
      .optional()
      .transform((v) => (v ? v : undefined))
      .refine(
        (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
        'must be a postgresql:// URL',
      ),
    DATABASE_POOL_SIZE: int(1, 200).default(10),
    /** How long to wait for a new PostgreSQL connection before the operation fails. */
    DATABASE_CONNECT_TIMEOUT: duration('DATABASE_CONNECT_TIMEOUT', 100, 60_000).default(3_000),
    /** A query that gets no answer (network cut) fails after this; also the server's statement_timeout. */
    DATABASE_QUERY_TIMEOUT: duration('DATABASE_QUERY_TIMEOUT', 100, 600_000).default(5_000),
    DATA_DIR: z.string().trim().min(1).default('.data'),
    JWT_ACCESS_SECRET: z
      .string()
      .optional()
      .transform((v) => (v ? v : undefined)),
    JWT_ISSUER: z.string().trim().min(1).default('auth-api'),
    JWT_AUDIENCE: z.string().trim().min(1).default('auth-api'),
    /** Signing keys (src/keys; docs/deploying.md "Signing keys and rotation"). */
    JWT_ALGORITHM: z.enum(JWT_ALGORITHMS).default('ES256'),
    JWT_PRIVATE_KEY: z
      .string()
      .optional()
      .transform((v) => (v?.trim() ? v.trim() : undefined)),
    JWT_PUBLISHED_KEYS: z
      .string()
      .optional()
      .transform((v) => (v?.trim() ? v.trim() : undefined)),
    JWKS_MAX_AGE: duration('JWKS_MAX_AGE', 0, 86_400_000).default(5 * 60_000),
    PUBLIC_URL: z
      .string()
      .trim()
      .refine(isBaseUrl, 'must be an http(s) URL without query or fragment')
      .optional(),
    ACCESS_TOKEN_TTL: duration('ACCESS_TOKEN_TTL', 1000, 86_400_000).default(15 * 60_000),
    REFRESH_TOKEN_TTL: duration('REFRESH_TOKEN_TTL', 1000, 366 * 86_400_000).default(
      7 * 86_400_000,
    ),
    /** Concurrent refreshes with one token inside this window all get the same new token. */
    REFRESH_REUSE_GRACE: duration('REFRESH_REUSE_GRACE', 0, 60_000).default(5_000),
    BCRYPT_ROUNDS: int(4, 15).default(12),
    /**
     * Password hashes (bcrypt) running at once. Unset: one core less than the
     * machine has, and one libuv thread less than its pool (at least 1): see
     * defaultHashConcurrency in app-config.ts.
     */
    PASSWORD_HASH_CONCURRENCY: int(1, 256).optional(),
    /** Hashes that may wait for a slot, per lane (trusted devices, everyone else); more are refused at once. */
    PASSWORD_HASH_QUEUE: int(1, 100_000).default(64),
    /** No hash waits longer than this for a slot: it is refused (TOO_MANY_REQUESTS) instead. */
    PASSWORD_HASH_MAX_WAIT: duration('PASSWORD_HASH_MAX_WAIT', 10, 60_000).default(1_000),
    AUTH_REFRESH_COOKIE: bool.default(false),
    AUTH_COOKIE_NAME: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('refresh_token'),
    AUTH_COOKIE_SAMESITE: z.enum(['strict', 'lax', 'none']).default('strict'),
    AUTH_RATE_LIMIT: int(1, 1_000_000).default(20),
    AUTH_RATE_LIMIT_WINDOW: duration('AUTH_RATE_LIMIT_WINDOW', 1000, 86_400_000).default(60_000),
    /** Per-IP limits count an IPv6 client by its network of this many bits (one subscriber's /64). */
    AUTH_RATE_LIMIT_IPV6_PREFIX: int(32, 128).default(64),
    /** changePassword calls per user, and per client address, per window (aliases counted). */
    AUTH_PASSWORD_CHANGE_LIMIT: int(1, 1_000_000).default(5),
    AUTH_PASSWORD_CHANGE_IP_LIMIT: int(1, 1_000_000).default(10),
    AUTH_PASSWORD_CHANGE_WINDOW: duration('AUTH_PASSWORD_CHANGE_WINDOW', 1000, 86_400_000).default(
      15 * 60_000,
    ),
    /** Failed logins per account (email) inside the window before it is locked for the window. */
    AUTH_LOGIN_MAX_FAILURES: int(1, 1_000_000).default(10),
    AUTH_LOGIN_FAILURE_WINDOW: duration('AUTH_LOGIN_FAILURE_WINDOW', 1000, 86_400_000).default(
      15 * 60_000,
    ),
    /**
     * Device tokens (src/devices): a login from a device that logged in to the
     * account before is not held by the account's lock and is hashed first.
     */
    AUTH_DEVICE_TOKENS: bool.default(true),
    AUTH_DEVICE_TOKEN_TTL: duration('AUTH_DEVICE_TOKEN_TTL', 1000, 3 * 366 * 86_400_000).default(
      90 * 86_400_000,
    ),
    AUTH_DEVICE_COOKIE_NAME: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('device_token'),
    /** Without REDIS_URL: accounts whose failed logins are kept in memory, least recently used dropped first. */
    AUTH_LOGIN_TRACKED_MAX: int(100, 100_000_000).default(100_000),
    /** Live sessions one user may have; a login beyond it revokes the least recently used. */
    AUTH_MAX_SESSIONS: int(1, 10_000).default(50),
    /** Emails that get the ADMIN role once their address is verified (verifyEmail or a reset). */
    ADMIN_EMAILS: list.default([]),
    /** The front end's base URL: mail links are {APP_URL}/verify-email?token=… and /reset-password?token=…. */
    APP_URL: z
      .string()
      .trim()
      .refine(isBaseUrl, 'must be an http(s) URL without query or fragment')
      .default('http://localhost:5173'),
    /** The mail server (smtp://user:pass@host:587, smtps://…). Unset outside production: .eml files in DATA_DIR/mail. */
    SMTP_URL: z
      .string()
      .trim()
      .optional()
      .transform((v) => (v ? v : undefined))
      .refine(
        (v) => v === undefined || /^smtps?:\/\/[^\s]+$/.test(v),
        'must be an smtp:// or smtps:// URL',
      ),
    /** The sender of every mail. */
    MAIL_FROM: z
      .string()
      .trim()
      .min(3)
      .max(320)
      .refine((v) => !/[\r\n\0]/.test(v), 'must be one line')
      .default('auth-api <no-reply@localhost>'),
    EMAIL_VERIFICATION_TTL: duration('EMAIL_VERIFICATION_TTL', 1000, 30 * 86_400_000).default(
      86_400_000,
    ),
    PASSWORD_RESET_TTL: duration('PASSWORD_RESET_TTL', 1000, 7 * 86_400_000).default(3_600_000),
    /** At most one verification mail and one reset mail per address in this time (silently). */
    ACCOUNT_MAIL_COOLDOWN: duration('ACCOUNT_MAIL_COOLDOWN', 0, 86_400_000).default(60_000),
    /** The mail worker looks for due mails this often (and at once after each commit that queues one). */
    MAIL_POLL_INTERVAL: duration('MAIL_POLL_INTERVAL', 50, 3_600_000).default(5_000),
    /** A failed send is retried after this, doubling each time up to MAIL_RETRY_MAX_DELAY. */
    MAIL_RETRY_DELAY: duration('MAIL_RETRY_DELAY', 50, 3_600_000).default(10_000),
    MAIL_RETRY_MAX_DELAY: duration('MAIL_RETRY_MAX_DELAY', 50, 86_400_000).default(10 * 60_000),
    /** A mail not delivered this long after it was queued is given up (logged, never with its token). */
    MAIL_GIVE_UP_AFTER: duration('MAIL_GIVE_UP_AFTER', 1000, 30 * 86_400_000).default(86_400_000),
    /** A claimed mail whose worker died is claimed again after this (keep it above a send's timeouts, 60 s). */
    MAIL_CLAIM_LEASE: duration('MAIL_CLAIM_LEASE', 1000, 86_400_000).default(120_000),
    /** Encrypts TOTP secrets at rest (AES-256-GCM): 32 bytes, base64. Required in production; else generated in DATA_DIR. */
    MFA_ENCRYPTION_KEY: z
      .string()
      .trim()
      .optional()
      .transform((v) => (v ? v : undefined))
      .refine(
        (v) => v === undefined || isKey32(v),
        'must be 32 bytes in base64 (openssl rand -base64 32)',
      ),
    /** More keys (comma-separated) that decrypt TOTP secrets but never encrypt: the previous key of a rotation. */
    MFA_DECRYPTION_KEYS: list
      .refine((keys) => keys.every(isKey32), 'must be keys of 32 bytes in base64, comma-separated')
      .default([]),
    /** The lifetime of an mfaToken (the second step of a login). */
    MFA_CHALLENGE_TTL: duration('MFA_CHALLENGE_TTL', 1000, 3_600_000).default(5 * 60_000),
    /** The issuer an authenticator app shows next to the account (otpauth URI). */
    MFA_ISSUER: z.string().trim().min(1).max(100).default('auth-api'),
    REDIS_URL: z
      .string()
      .trim()
      .optional()
      .transform((v) => (v ? v : undefined))
      .refine((v) => v === undefined || /^rediss?:\/\//.test(v), 'must be a redis:// URL'),
    /** Prefix of every Redis key (several apps or environments can share one Redis). */
    REDIS_KEY_PREFIX: z.string().trim().default('auth-api:'),
    /** A Redis command (rate limit, failed-login count) that gets no answer fails after this. */
    REDIS_COMMAND_TIMEOUT: duration('REDIS_COMMAND_TIMEOUT', 50, 60_000).default(1_000),
    TRUST_PROXY: z.string().trim().default('loopback'),
    /** Exact origins (scheme://host[:port]) allowed to call with credentials; never `*`. */
    CORS_ORIGINS: list
      .refine(
        (origins) => origins.every(isExactOrigin),
        'must be a comma-separated list of exact origins like https://app.example.com (no `*`, no path)',
      )
      .optional(),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    GRAPHQL_MAX_DEPTH: int(1, 100).default(8),
    GRAPHQL_MAX_ALIASES: int(1, 1000).default(30),
    GRAPHQL_MAX_TOKENS: int(10, 100_000).default(1000),
    GRAPHQL_MAX_COST: int(10, 1_000_000).default(5000),
    GRAPHQL_MAX_DIRECTIVES: int(1, 1000).default(10),
    BODY_LIMIT: int(1024, 50_000_000).default(100_000),
    /** Security events are deleted this long after they happened. */
    AUDIT_RETENTION: duration('AUDIT_RETENTION', 1000, 3650 * 86_400_000).default(90 * 86_400_000),
    /** An ended session (revoked or expired) is deleted this long after its expiry. */
    SESSION_RETENTION: duration('SESSION_RETENTION', 0, 3650 * 86_400_000).default(86_400_000),
    /** A mail that was sent or given up is deleted this long after it was queued. */
    MAIL_RETENTION: duration('MAIL_RETENTION', 0, 3650 * 86_400_000).default(7 * 86_400_000),
    /** How often the retention cleanup runs; 0: never (run `npm run cleanup` yourself). */
    RETENTION_INTERVAL: duration('RETENTION_INTERVAL', 0, 86_400_000).default(15 * 60_000),
    /** Rows per delete statement of the cleanup. */
    RETENTION_BATCH_SIZE: int(1, 10_000).default(500),
    /** The share of the time the cleanup keeps the database busy: after each batch it pauses (1 - d) / d times as long as the batch took. */
    RETENTION_DUTY_CYCLE: z.coerce.number().gt(0).max(1).default(0.05),
    /** On SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway. */
    SHUTDOWN_TIMEOUT: duration('SHUTDOWN_TIMEOUT', 0, 600_000).default(10_000),
  })
  .superRefine((env, ctx) => {
    const alg = env.JWT_ALGORITHM;
    if (isAsymmetric(alg)) {
      for (const [name, parse] of [
        [
          'JWT_PRIVATE_KEY',
          () => env.JWT_PRIVATE_KEY && parsePrivateKeyPem(env.JWT_PRIVATE_KEY, alg),
        ],
        [
          'JWT_PUBLISHED_KEYS',
          () => env.JWT_PUBLISHED_KEYS && parsePublicKeysPem(env.JWT_PUBLISHED_KEYS, alg),
        ],
      ] as const) {
        try {
          parse();
        } catch (e) {
          ctx.addIssue({ code: 'custom', path: [name], message: (e as Error).message });
        }
      }
    }
    if (env.NODE_ENV !== 'production') return;
    if (isAsymmetric(alg) && !env.JWT_PRIVATE_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_PRIVATE_KEY'],
        message: `is required in production for JWT_ALGORITHM=${alg} (a PEM PKCS#8 private key; see docs/deploying.md "Signing keys and rotation")`,
      });
    }
    if (!env.SMTP_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['SMTP_URL'],
        message: 'is required in production (the mail server for verification and reset mails)',
      });
    }
    if (!env.MFA_ENCRYPTION_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['MFA_ENCRYPTION_KEY'],
        message: 'is required in production (32 bytes, base64: it encrypts the TOTP secrets)',
      });
    }
    const s = env.JWT_ACCESS_SECRET;
    if (!s) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_ACCESS_SECRET'],
        message: 'is required in production',
      });
    } else if (s.length < 32 || PLACEHOLDER_SECRETS.has(s) || /^(.)\1*$/.test(s)) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_ACCESS_SECRET'],
        message:
          'must be a random string of at least 32 characters in production, not a placeholder',
      });
    }
  });

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {}

/** Parses an environment; throws ConfigError naming every bad variable. */
export function parseEnv(raw: Record<string, string | undefined>): Env {
  // Empty strings mean "unset" for optional variables with defaults.
  const cleaned = Object.fromEntries(
    Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''),
  );
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
