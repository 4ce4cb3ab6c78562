// `npm run build`: tsc (dist/src, with decorator metadata), then the one-file
// bundle dist/main.mjs (scripts/bundle.mjs), then a stamp of the inputs.
// `npm run build -- --if-changed` (what `npm start` runs first) skips both
// when no input changed since the stamp was written: a start of an unchanged
// tree does not rebuild. `--check` only tells (exit 0: up to date, 1: a
// build is due) and builds nothing.
//
// Inputs: everything under src/ (the generated Prisma client included),
// prisma/schema.prisma, the bundler and its shims, package.json,
// package-lock.json (a changed dependency) and the tsconfig files. Compared
// by content (SHA-256), not mtime: a checkout or a copy that touches files
// without changing them does not rebuild, and an edit always does.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = join(root, 'dist/.build-stamp');
const OUTPUT = join(root, 'dist/main.mjs');
const INPUTS = [
  'src',
  'prisma/schema.prisma',
  'scripts/build.mjs',
  'scripts/bundle.mjs',
  'scripts/bundle-shims',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
];

function files(path) {
  const abs = join(root, path);
  if (!existsSync(abs)) return [];
  try {
    return readdirSync(abs, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(root, join(e.parentPath ?? e.path, e.name)));
  } catch (e) {
    if (e.code === 'ENOTDIR') return [path];
    throw e;
  }
}

/** SHA-256 over the sorted list of input files and their contents. */
function inputsHash() {
  const hash = createHash('sha256');
  for (const f of INPUTS.flatMap(files).sort()) {
    hash
      .update(f)
      .update('\0')
      .update(readFileSync(join(root, f)))
      .update('\0');
  }
  return hash.digest('hex');
}

function readStamp() {
  try {
    return JSON.parse(readFileSync(STAMP, 'utf8'));
  } catch {
    return undefined;
  }
}

function run(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const check = process.argv.includes('--check');
const ifChanged = check || process.argv.includes('--if-changed');
const hash = inputsHash();
const stamp = readStamp();
if (ifChanged && stamp?.hash === hash && existsSync(OUTPUT)) {
  console.log(`Build up to date (no source changed since ${stamp.builtAt}): not rebuilding.`);
  process.exit(0);
}
if (check) {
  console.log(stamp ? 'A build is due: the sources changed.' : 'A build is due: never built.');
  process.exit(1);
}
if (ifChanged) {
  console.log(
    stamp ? 'Building: the sources changed since the last build…' : 'Building the server…',
  );
}
const started = Date.now();
// An interrupted build must not pass for a finished one.
rmSync(STAMP, { force: true });
run([join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
run([join(root, 'scripts/bundle.mjs')]);
writeFileSync(STAMP, JSON.stringify({ hash, builtAt: new Date().toISOString() }) + '\n');
console.log(`Built dist/main.mjs in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
