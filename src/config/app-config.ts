import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { parseEnv, type Env } from './config.schema.js';

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
}

const SECRET_FILE = 'jwt-access-secret';

export async function loadAppConfig(
  raw: Record<string, string | undefined> = process.env,
): Promise<AppConfig> {
  const env = parseEnv(raw);
  const dataDir = isAbsolute(env.DATA_DIR) ? env.DATA_DIR : resolve(process.cwd(), env.DATA_DIR);
  const secret = env.JWT_ACCESS_SECRET ?? (await devSecret(dataDir));
  return new AppConfig(env, dataDir, secret);
}

async function devSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, SECRET_FILE);
  try {
    const s = (await readFile(file, 'utf8')).trim();
    if (s.length >= 32) return s;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dataDir, { recursive: true });
  const s = randomBytes(48).toString('base64url');
  // 'wx': if another process wrote it first, use theirs.
  try {
    await writeFile(file, s + '\n', { mode: 0o600, flag: 'wx' });
    return s;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      return (await readFile(file, 'utf8')).trim();
    throw e;
  }
}
