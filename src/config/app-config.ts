import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, parseEnv, type Env } from './config.schema.js';
import { devSecretFile } from './data-dir.js';

/**
 * The validated configuration the app runs with: the parsed environment plus
 * what is derived from it (absolute data dir, the JWT secret, generated in
 * development and kept in DATA_DIR so tokens survive restarts).
 */
export class AppConfig {
  constructor(
    readonly env: Env,
    readonly dataDir: string,
    readonly jwtAccessSecret: string,
  ) {}

  get isProduction(): boolean {
    return this.env.NODE_ENV === 'production';
  }

  /** PASSWORD_HASH_CONCURRENCY, or the default for this machine. */
  get passwordHashConcurrency(): number {
    return this.env.PASSWORD_HASH_CONCURRENCY ?? defaultHashConcurrency();
  }
}

/**
 * How many bcrypt hashes may run at once by default: one core less than the
 * machine has, so hashing never takes every core (the event loop, `me`,
 * refreshes and the database keep one), and one thread less than libuv's
 * pool (UV_THREADPOOL_SIZE, 4 by default; bcrypt runs there), so DNS
 * lookups and file work never wait behind a hash. At least 1. On 2 cores
 * that is 1: login throughput is bcrypt's rate on one core (about 4 a
 * second at cost 12), and a flood of logins leaves the other core to
 * everything else.
 */
export function defaultHashConcurrency(
  cores = availableParallelism(),
  threadPool = Number(process.env.UV_THREADPOOL_SIZE) || 4,
): number {
  return Math.max(1, Math.min(cores - 1, threadPool - 1));
}

const SECRET_FILE = 'jwt-access-secret';
const SECRET_MIN = 32;

export async function loadAppConfig(
  raw: Record<string, string | undefined> = process.env,
): Promise<AppConfig> {
  const env = parseEnv(raw);
  const dataDir = isAbsolute(env.DATA_DIR) ? env.DATA_DIR : resolve(process.cwd(), env.DATA_DIR);
  const secret =
    env.JWT_ACCESS_SECRET ??
    devSecretFile(
      dataDir,
      SECRET_FILE,
      () => randomBytes(48).toString('base64url') + '\n',
      checkSecret,
    );
  return new AppConfig(env, dataDir, secret);
}

/**
 * The development secret of DATA_DIR/jwt-access-secret (devSecretFile). A
 * file that holds fewer than 32 characters is refused, not used and not
 * replaced: someone wrote it, and a short secret lets anyone who guesses it
 * sign tokens.
 */
function checkSecret(text: string, file: string): string {
  const s = text.trim();
  if (s.length < SECRET_MIN) {
    throw new ConfigError(
      `Invalid configuration:\n  ${file} holds a secret of ${s.length} characters; at least ${SECRET_MIN} are needed.\n` +
        `  Delete the file to have a new random one generated at the next start (tokens signed with the old one stop working),\n` +
        `  or set JWT_ACCESS_SECRET.`,
    );
  }
  return s;
}
