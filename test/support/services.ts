import net from 'node:net';

/**
 * The machine's PostgreSQL and Redis, for the suites that need a real server
 * of their own (migrations on PostgreSQL, two instances, database faults).
 * `npm test` on a fresh machine with nothing running skips those suites and
 * says so; in CI (CI=true, or REQUIRE_SERVICES=1) a missing server is a
 * failure instead, so nothing is skipped silently there.
 */
export const PG_SERVER_URL =
  process.env.TEST_DATABASE_URL ??
  process.env.TEST_PG_URL ??
  'postgresql://postgres@127.0.0.1:5432/test';
export const REDIS_SERVER_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname || '127.0.0.1', port: Number(u.port) || defaultPort });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const required = process.env.CI === 'true' || process.env.REQUIRE_SERVICES === '1';
const up = {
  postgres: await reachable(PG_SERVER_URL, 5432),
  redis: await reachable(REDIS_SERVER_URL, 6379),
};

/** True when the suite must be skipped for lack of `services` (never in CI: there it throws). */
export function missing(...services: (keyof typeof up)[]): boolean {
  const absent = services.filter((s) => !up[s]);
  if (absent.length === 0) return false;
  const msg = `${absent.join(' and ')} not reachable (${absent
    .map((s) => (s === 'postgres' ? PG_SERVER_URL : REDIS_SERVER_URL))
    .join(', ')})`;
  if (required) throw new Error(`${msg}: required in CI`);
  console.warn(`skipping: ${msg}`);
  return true;
}
