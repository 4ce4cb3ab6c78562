import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { displayPath } from './common/display-path.js';
import type { AppConfig } from './config/app-config.js';
import { LOCK_FILE } from './database/data-dir-lock.js';
import { GRAPHQL_PATH } from './graphql/context.js';

/**
 * What `npm start` tells a person: one line once the server listens (the
 * endpoint, how to explore it, the database, cookie mode, where the
 * development secrets came from), and plain messages for the usual reasons a
 * start fails (the port is taken).
 */

/** The explorer served from node_modules outside production (src/explorer). */
export const EXPLORER_PATH = '/graphiql';

/** The base URL a person on this machine uses: the listening address, `localhost` for a wildcard. */
export function localBaseUrl(host: string, port: number): string {
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  const name = wildcard ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}

/** `embedded PGlite in .data`, or `PostgreSQL db.internal:5432/auth` (never the credentials). */
export function describeDatabase(config: AppConfig): string {
  const url = config.env.DATABASE_URL;
  if (!url) return `embedded PGlite in ${displayPath(config.dataDir)}`;
  try {
    const u = new URL(url);
    return `PostgreSQL ${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'PostgreSQL (DATABASE_URL)';
  }
}

/**
 * Outside production, where the development secret and keys came from: the
 * files in DATA_DIR (not the database's folder, not the lock), and which of
 * them this start wrote (modified since `since`). Undefined in production,
 * where every secret comes from the environment.
 */
export function devSecretsNote(config: AppConfig, since: number): string | undefined {
  if (config.isProduction) return undefined;
  let files: string[];
  try {
    files = readdirSync(config.dataDir, { withFileTypes: true })
      .filter(
        (e) =>
          e.isFile() && e.name !== LOCK_FILE && !e.name.startsWith('.') && !/\.eml$/.test(e.name),
      )
      .map((e) => e.name)
      .sort();
  } catch {
    files = [];
  }
  const dir = displayPath(config.dataDir);
  const fresh = files.filter((f) => {
    try {
      return statSync(join(config.dataDir, f)).mtimeMs >= since;
    } catch {
      return false;
    }
  });
  if (fresh.length)
    return `development secret and keys: generated now in ${dir} (${fresh.join(', ')})`;
  if (files.length === 0 || config.env.JWT_ACCESS_SECRET) return undefined;
  return `development secret and keys: from ${dir} (${files.join(', ')})`;
}

export interface ReadyInfo {
  /** http://localhost:3000 */
  baseUrl: string;
  config: AppConfig;
  /** When this process started (ms since the epoch): files written since are "generated now". */
  startedAt: number;
  /** Whether the offline explorer's packages are installed (outside production). */
  explorer: boolean;
}

/** The one line a person reads when the server is up. */
export function readyLine({ baseUrl, config, startedAt, explorer }: ReadyInfo): string {
  const endpoint = `${baseUrl}${GRAPHQL_PATH}`;
  const parts = [`Ready: ${endpoint}`];
  if (!config.isProduction) {
    const sandbox = 'the endpoint in a browser (Apollo Sandbox, needs the internet)';
    parts.push(
      explorer
        ? `explore it: ${baseUrl}${EXPLORER_PATH} (GraphiQL, offline) or ${sandbox}`
        : `explore it: ${sandbox}`,
    );
  }
  parts.push(`database: ${describeDatabase(config)}`);
  parts.push(
    config.env.AUTH_REFRESH_COOKIE
      ? 'cookie mode: on (refresh token in an HttpOnly cookie)'
      : 'cookie mode: off (refresh token in the response; AUTH_REFRESH_COOKIE=true for browser apps)',
  );
  const secrets = devSecretsNote(config, startedAt);
  if (secrets) parts.push(secrets);
  return parts.join(' | ');
}

/** The start failed because the port is taken (or not ours to take): what to do instead. */
export function listenFailureMessage(e: unknown, host: string, port: number): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const where = host === '0.0.0.0' || host === '::' ? `Port ${port}` : `${host}:${port}`;
  if (code === 'EADDRINUSE') {
    return [
      `${where} is already in use: another auth-api server, or another program (\`ss -ltnp 'sport = :${port}'\` shows which).`,
      `Stop it, or start this one on another port: PORT=${port === 3001 ? 3002 : 3001} npm start`,
    ].join('\n');
  }
  if (code === 'EACCES') {
    return `${where} needs privileges this process does not have: use a port above 1023, e.g. PORT=3000 npm start`;
  }
  if (code === 'EADDRNOTAVAIL') {
    return `HOST=${host} is not an address of this machine: use HOST=0.0.0.0 (every interface) or 127.0.0.1 (this machine only)`;
  }
  return undefined;
}
