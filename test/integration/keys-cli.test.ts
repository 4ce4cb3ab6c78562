import { spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePublicKeysPem, pemBlocks } from '../../src/keys/key-material.js';
import { buildServer, ROOT } from '../production/support.js';

/** `npm run keys -- new | show` (the built command): what docs/deploying.md's rotation uses. */
function keys(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['dist/src/cli/keys.js', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const kidOf = (publicPem: string) =>
  calculateJwkThumbprint(createPublicKey(publicPem).export({ format: 'jwk' }) as never, 'sha256');

describe('npm run keys', () => {
  let dataDir: string;
  beforeAll(() => {
    buildServer();
    dataDir = mkdtempSync(join(tmpdir(), 'auth-api-keys-cli-'));
  }, 180_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('new: a PKCS#8 private key, then its public key and kid; EdDSA on request; a bad algorithm exits 2', async () => {
    const r = keys(['new'], { DATA_DIR: dataDir });
    expect(r.status).toBe(0);
    const blocks = pemBlocks(r.stdout);
    expect(blocks.map((b) => b.label)).toEqual(['PRIVATE KEY', 'PUBLIC KEY']);
    expect(createPublicKey(blocks[0].pem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(r.stdout).toContain(`kid ${await kidOf(blocks[1].pem)}`);
    const ed = keys(['new', 'EdDSA'], { DATA_DIR: dataDir });
    expect(createPublicKey(pemBlocks(ed.stdout)[0].pem).asymmetricKeyType).toBe('ed25519');
    const bad = keys(['new', 'RS256'], { DATA_DIR: dataDir });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('usage: npm run keys');
  });

  it('show: the signing and the published keys with their kids; its output works as JWT_PUBLISHED_KEYS', async () => {
    const k1 = pemBlocks(keys(['new'], { DATA_DIR: dataDir }).stdout);
    const k2 = pemBlocks(keys(['new'], { DATA_DIR: dataDir }).stdout);
    const r = keys(['show'], {
      DATA_DIR: dataDir,
      JWT_PRIVATE_KEY: k2[0].pem,
      JWT_PUBLISHED_KEYS: k1[1].pem,
    });
    expect(r.status).toBe(0);
    const [kid2, kid1] = [await kidOf(k2[1].pem), await kidOf(k1[1].pem)];
    expect(r.stdout).toContain(`signing (JWT_PRIVATE_KEY), kid ${kid2}`);
    expect(r.stdout).toContain(`published, not signing (JWT_PUBLISHED_KEYS), kid ${kid1}`);
    expect(r.stdout).not.toContain('PRIVATE KEY');
    const published = parsePublicKeysPem(r.stdout, 'ES256');
    expect(
      await Promise.all(
        published.map((k) => kidOf(k.export({ type: 'spki', format: 'pem' }).toString())),
      ),
    ).toEqual([kid2, kid1]);
  });

  it('show without JWT_PRIVATE_KEY: the development key of DATA_DIR (made once, the one the server uses)', async () => {
    const first = keys(['show'], { DATA_DIR: dataDir });
    expect(first.status).toBe(0);
    const file = join(dataDir, 'jwt-signing-key-es256.pem');
    expect(first.stdout).toContain(`signing (${file})`);
    const kid = await kidOf(
      createPublicKey(readFileSync(file, 'utf8'))
        .export({ type: 'spki', format: 'pem' })
        .toString(),
    );
    expect(first.stdout).toContain(`kid ${kid}`);
    expect(keys(['show'], { DATA_DIR: dataDir }).stdout).toBe(first.stdout);
    expect(keys(['show'], { DATA_DIR: dataDir, JWT_ALGORITHM: 'HS256' }).stdout).toMatch(
      /no public keys/,
    );
  });
});
