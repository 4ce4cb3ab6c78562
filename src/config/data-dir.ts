import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * DATA_DIR holds the embedded database, the generated development secret and
 * keys, and kept mails: nothing anyone but the server's own user may read.
 * Folders are 0700 and files 0600, whatever the umask.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` (and its missing parents) as 0700, and makes an existing one
 * 0700 when it is open to the group or others. Returns whether its mode was
 * changed (the caller may say so). A folder owned by another user is left
 * as it is (chmod would fail); it is then the operator's.
 */
export function ensurePrivateDir(dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const st = statSync(dir);
  if ((st.mode & 0o077) === 0 || (process.getuid && st.uid !== process.getuid())) return false;
  chmodSync(dir, PRIVATE_DIR_MODE);
  return true;
}

/** Writes a new file readable by its owner only; 'wx': fails with EEXIST if it exists. */
export function writePrivateFile(file: string, data: string | Uint8Array): void {
  writeFileSync(file, data, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  // The umask can only take bits away; this also covers a file system that ignores `mode`.
  chmodSync(file, PRIVATE_FILE_MODE);
}

/**
 * A development secret kept in DATA_DIR/`name` (0600, in a 0700 DATA_DIR),
 * so that what it protects survives restarts; set in production by an
 * environment variable instead (the caller decides). The file's text is
 * read and given to `check`, which returns the value or throws the caller's
 * own ConfigError: a file that does not pass is refused, never used and
 * never replaced (someone wrote it). Without a file, `generate()` is written
 * to a private temporary file first and linked into place, so the file
 * appears whole or not at all (where the file system has no hard links, it
 * is written in place with 'wx'); if another process created it first
 * (EEXIST), theirs is read and checked, never overwritten.
 */
export function devSecretFile<T>(
  dataDir: string,
  name: string,
  generate: () => string,
  check: (text: string, file: string) => T,
): T {
  ensurePrivateDir(dataDir);
  const file = join(dataDir, name);
  const existing = readIfExists(file);
  if (existing !== undefined) return check(existing, file);
  const fresh = generate();
  return check(createOnce(file, fresh) ? fresh : readFileSync(file, 'utf8'), file);
}

/** Hard links refused by the file system: then the file is written in place with 'wx'. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** Creates `file` (0600) holding `data` unless it exists; false when it did. */
function createOnce(file: string, data: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writePrivateFile(tmp, data);
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_LINKS.has(code)) throw e;
  } finally {
    unlinkSync(tmp);
  }
  try {
    writePrivateFile(file, data);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Every folder under `dir` 0700 and every file 0600 (symbolic links are not
 * followed). PGlite writes the files of a new database with mode 0666
 * whatever the umask (its bundled template is copied with explicit modes),
 * so its folder is fixed after each open that created it.
 */
export function privatiseTree(dir: string): void {
  const walk = (path: string) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) {
      if ((st.mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(path, PRIVATE_DIR_MODE);
      for (const name of readdirSync(path)) walk(join(path, name));
    } else if ((st.mode & 0o077) !== 0) {
      chmodSync(path, PRIVATE_FILE_MODE);
    }
  };
  walk(dir);
}
