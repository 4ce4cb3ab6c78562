import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../src/config/app-config.js';
import { createTestDatabase, startTestApp, TEST_PRIVATE_KEY, TEST_SECRET } from '../support/app.js';
import type { OwnedDatabase } from '../support/databases.js';
import { mfaToken, registerWithMfa, verifyMfa } from './mfa-helpers.js';

const keyB64 = () => randomBytes(32).toString('base64');
const keyId = (b64: string) =>
  createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex').slice(0, 16);

function decrypt(stored: string, keyBase64: string, userId: string): string {
  const [iv, ct, tag] = stored.split('.').map((p) => Buffer.from(p, 'base64url'));
  const d = createDecipheriv('aes-256-gcm', Buffer.from(keyBase64, 'base64'), iv);
  d.setAAD(Buffer.from(`totp-secret:${userId}`));
  d.setAuthTag(tag);
  return Buffer.concat([d.update(ct), d.final()]).toString('utf8');
}

/**
 * Every log line of every app of this file. (Nest's logger goes to the first
 * app's logger of the process: every app here is given this same collector.)
 */
const lines: string[] = [];

/** MFA_ENCRYPTION_KEY: required in production; generated once in DATA_DIR (0600) otherwise. */
describe('second factor: the encryption key', () => {
  it('production refuses to start without MFA_ENCRYPTION_KEY, or with a key that is not 32 bytes of base64', async () => {
    const base = {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: TEST_SECRET,
      JWT_PRIVATE_KEY: TEST_PRIVATE_KEY,
      SMTP_URL: 'smtp://127.0.0.1:9',
    };
    await expect(loadAppConfig(base)).rejects.toThrow(
      /MFA_ENCRYPTION_KEY: is required in production/,
    );
    for (const bad of [
      'short',
      randomBytes(16).toString('base64'),
      randomBytes(48).toString('base64'),
    ]) {
      await expect(loadAppConfig({ ...base, MFA_ENCRYPTION_KEY: bad })).rejects.toThrow(
        /MFA_ENCRYPTION_KEY: must be 32 bytes in base64/,
      );
    }
    await expect(loadAppConfig({ ...base, MFA_ENCRYPTION_KEY: keyB64() })).resolves.toBeTruthy();
    await expect(
      loadAppConfig({ ...base, MFA_ENCRYPTION_KEY: keyB64(), MFA_DECRYPTION_KEYS: 'nope' }),
    ).rejects.toThrow(/MFA_DECRYPTION_KEYS/);
  });

  describe('outside production, and rotation', () => {
    let dir: string;
    let pgDb: OwnedDatabase | undefined;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'auth-mfa-keys-'));
      pgDb = await createTestDatabase();
    });
    afterAll(async () => {
      await pgDb?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    /** An app on the same database (and DATA_DIR) as the previous one: a restart. */
    const restart = (env: Record<string, string>) =>
      startTestApp(
        { DATA_DIR: join(dir, 'data'), ...(pgDb ? { DATABASE_URL: pgDb.url } : {}), ...env },
        { pgliteDir: join(dir, 'pg'), logLines: lines },
      );

    it('the key is generated once into DATA_DIR (0600) and kept: a factor works across a restart', async () => {
      const first = await restart({});
      const file = join(dir, 'data', 'mfa-encryption-key');
      let u;
      try {
        u = await registerWithMfa(first);
      } finally {
        await first.close();
      }
      const key = readFileSync(file, 'utf8').trim();
      expect(Buffer.from(key, 'base64')).toHaveLength(32);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const second = await restart({});
      try {
        expect(readFileSync(file, 'utf8').trim()).toBe(key);
        expect(
          (await verifyMfa(second, await mfaToken(second, u.email), await u.totp.next())).errors,
        ).toBeUndefined();
      } finally {
        await second.close();
      }
    });

    it('rotation: with the new key and the old one in MFA_DECRYPTION_KEYS, a start re-encrypts every secret; the old key can then go', async () => {
      const A = readFileSync(join(dir, 'data', 'mfa-encryption-key'), 'utf8').trim();
      const B = keyB64();
      // The first test's user is under A (the generated key); one more under A, set explicitly.
      const a = await restart({ MFA_ENCRYPTION_KEY: A });
      let u;
      try {
        u = await registerWithMfa(a);
      } finally {
        await a.close();
      }
      lines.length = 0;
      const b = await restart({ MFA_ENCRYPTION_KEY: B, MFA_DECRYPTION_KEYS: A });
      try {
        const rows = await b.db.prisma.totpFactor.findMany();
        expect(rows.length).toBeGreaterThanOrEqual(2);
        expect(rows.map((r) => r.keyId)).toEqual(rows.map(() => keyId(B)));
        for (const r of rows)
          expect(decrypt(r.secretEncrypted, B, r.userId)).toMatch(/^[A-Z2-7]+$/);
        expect(lines.join('\n')).toMatch(/"event":"mfa_secrets_reencrypted","count":\d+/);
      } finally {
        await b.close();
      }
      const only = await restart({ MFA_ENCRYPTION_KEY: B });
      try {
        expect(
          (await verifyMfa(only, await mfaToken(only, u.email), await u.totp.next())).errors,
        ).toBeUndefined();
      } finally {
        await only.close();
      }
      // A key that decrypts nothing: TOTP codes are refused (logged at start as an error),
      // recovery codes (hashes, no key) still open the account.
      lines.length = 0;
      const lost = await restart({ MFA_ENCRYPTION_KEY: keyB64() });
      try {
        expect(lines.join('\n')).toMatch(/"event":"mfa_secrets_unreadable","count":\d+/);
        expect(
          (await verifyMfa(lost, await mfaToken(lost, u.email), await u.totp.next())).code,
        ).toBe('UNAUTHENTICATED');
        expect(
          (await verifyMfa(lost, await mfaToken(lost, u.email), u.recoveryCodes[0])).errors,
        ).toBeUndefined();
      } finally {
        await lost.close();
      }
    });
  });
});
