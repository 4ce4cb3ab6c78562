#!/usr/bin/env node
// "Keep what earns its place": each hand-written replacement of a library's
// way on the hot path against the library's way, in paired A/B rounds of
// bench/ab.mjs. A variant is a patch in bench/ab-variants/ that puts the
// library's way back on top of the current tree:
//   library-logging.patch         nestjs-pino + pino-http (request id carried by its context)
//   hot-sql-through-prisma.patch  the hot statements through Prisma's raw-query path
//                                 (what TypedSQL's $queryRawTyped runs)
//   handwritten-*.patch           the other way round: the tree has the library's way and
//                                 the patch adds the hand-written code, so the variant's
//                                 gain is the one to judge:
//   handwritten-apollo-driver.patch  our own Fastify route handler for Apollo (removed on
//                                 2026-12-07: the library's registration was 4 % faster on
//                                 me and 10 % on refresh, bench/results/2026-12-07-ab-variants.json)
//   one-statement-per-session-check.patch  one statement per guarded call's session
//                                 check instead of one per turn of the event loop
//                                 (DataLoader): not a library replaced, a change of the
//                                 hot path measured the same way
//   (any other *.patch there)
//
//   node bench/ab-variants.mjs [names...]    (default: every patch)
//
// Builds HEAD's tree (with uncommitted changes) as `.ab/head` and each
// variant as `.ab/<name>` (a detached git worktree per variant, the patch
// applied, node_modules shared), then runs `bench/ab.mjs run <scenario>
// head <variants...>` for `me` and `refresh` (AB_ROUNDS rounds of
// AB_SECONDS s, 10 and 5 by default) and prints, per variant, what the
// hand-written code gains: head / variant req/s, and variant / head server
// CPU per request. The rule: keep the hand-written code only where it gains
// >= 3 % on `me` or `refreshToken`. AB_BUILD_ONLY=1 builds and stops.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = join(ROOT, 'bench/ab-variants');
const ROUNDS = process.env.AB_ROUNDS ?? '10';
const SECONDS = process.env.AB_SECONDS ?? '5';
const log = (...a) => console.error('[ab-variants]', ...a);

const run = (cmd, args, cwd, opts = {}) => {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}`);
  return r;
};

const wanted = process.argv.slice(2);
const variants = readdirSync(DIR)
  .filter((f) => f.endsWith('.patch'))
  .map((f) => f.slice(0, -'.patch'.length))
  .filter((n) => !wanted.length || wanted.includes(n));

log('build HEAD');
run('npm', ['run', 'build'], ROOT);
run(process.execPath, ['bench/ab.mjs', 'snap', 'head'], ROOT);

for (const name of variants) {
  const wt = join(tmpdir(), `ab-variant-${name}-${process.pid}`);
  log(`build ${name}`);
  run('git', ['worktree', 'add', '--detach', wt, 'HEAD'], ROOT, { stdio: 'ignore' });
  try {
    // Uncommitted changes of this tree first, then the variant's patch.
    const diff = spawnSync('git', ['diff', 'HEAD'], { cwd: ROOT, maxBuffer: 64 << 20 }).stdout;
    if (diff.length) {
      writeFileSync(join(wt, '.uncommitted.patch'), diff);
      run('git', ['apply', '.uncommitted.patch'], wt);
    }
    run('git', ['apply', join(DIR, `${name}.patch`)], wt);
    symlinkSync(join(ROOT, 'node_modules'), join(wt, 'node_modules'));
    // The generated Prisma client is not in git.
    cpSync(join(ROOT, 'src/generated'), join(wt, 'src/generated'), { recursive: true });
    run('npm', ['run', 'build'], wt);
    rmSync(join(ROOT, '.ab', name), { recursive: true, force: true });
    mkdirSync(join(ROOT, '.ab'), { recursive: true });
    cpSync(join(wt, 'dist'), join(ROOT, '.ab', name), { recursive: true });
  } finally {
    run('git', ['worktree', 'remove', '--force', wt], ROOT, { stdio: 'ignore' });
  }
}

if (process.env.AB_BUILD_ONLY === '1') process.exit(0);

const summary = {};
for (const scenario of ['me', 'refresh']) {
  log(`A/B ${scenario}: head ${variants.join(' ')}, ${ROUNDS} rounds of ${SECONDS} s`);
  const r = spawnSync(
    process.execPath,
    ['bench/ab.mjs', 'run', scenario, 'head', ...variants, ROUNDS, SECONDS],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 },
  );
  const out = r.stdout.toString();
  process.stdout.write(out);
  for (const m of out.matchAll(/^(\S+) \/ head: req\/s x([\d.]+), CPU per request x([\d.]+)/gm)) {
    // The hand-written side against the library's: HEAD against the variant,
    // or for a handwritten-* patch the variant against HEAD.
    const reverse = m[1].startsWith('handwritten-');
    const rate = reverse ? Number(m[2]) : 1 / Number(m[2]);
    const cpu = reverse ? Number(m[3]) : 1 / Number(m[3]);
    (summary[m[1]] ??= {})[scenario] = {
      handwrittenGainReqPerSec: Number((rate - 1).toFixed(3)),
      handwrittenSavesCpuPerRequest: Number((1 - cpu).toFixed(3)),
    };
  }
}
console.log('\nwhat the hand-written code gains over the library way (paired medians):');
for (const [name, s] of Object.entries(summary)) {
  const pct = (x) => (x == null ? '?' : `${(100 * x).toFixed(1)} %`);
  const keep = ['me', 'refresh'].some((k) => (s[k]?.handwrittenGainReqPerSec ?? 0) >= 0.03);
  console.log(
    `  ${name.padEnd(28)} me ${pct(s.me?.handwrittenGainReqPerSec)} req/s (${pct(s.me?.handwrittenSavesCpuPerRequest)} CPU), refresh ${pct(s.refresh?.handwrittenGainReqPerSec)} req/s (${pct(s.refresh?.handwrittenSavesCpuPerRequest)} CPU): ${keep ? 'hand-written (>= 3 %)' : "the library's way"}`,
  );
}
if (existsSync(join(ROOT, 'bench/results'))) {
  const file = join(
    ROOT,
    `bench/results/${new Date().toISOString().slice(0, 10)}-ab-variants.json`,
  );
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), rounds: ROUNDS, seconds: SECONDS, summary }, null, 2)}\n`,
  );
  console.log(`\nwritten: ${file.replace(`${ROOT}/`, '')}`);
}
