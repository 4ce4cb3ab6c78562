import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
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
