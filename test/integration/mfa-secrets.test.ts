import { createDecipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DisableTotpDocument,
  EnrollTotpDocument,
  ConfirmTotpDocument,
  RegenerateRecoveryCodesDocument,
} from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { dumpDatabase } from '../support/mail.js';
import { op, register } from './helpers.js';
import { Authenticator, mfaToken, verifyMfa } from './mfa-helpers.js';

const keyId = (b64: string) =>
  createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex').slice(0, 16);

/** AES-256-GCM as docs/deploying.md describes it: iv.ciphertext.tag (base64url), the user id bound. */
function decrypt(stored: string, keyBase64: string, userId: string): string {
  const [iv, ct, tag] = stored.split('.').map((p) => Buffer.from(p, 'base64url'));
  const d = createDecipheriv('aes-256-gcm', Buffer.from(keyBase64, 'base64'), iv);
  d.setAAD(Buffer.from(`totp-secret:${userId}`));
  d.setAuthTag(tag);
  return Buffer.concat([d.update(ct), d.final()]).toString('utf8');
}

/** A string appears in `text` as itself (a 6-digit code: not as part of a longer number). */
function appears(text: string, s: string): boolean {
  if (/^\d+$/.test(s)) return new RegExp(`(?<![0-9])${s}(?![0-9])`).test(text);
  return text.includes(s);
}

/** docs/api.md, "Second factor": secrets encrypted, codes and tokens hashed, nothing in clear. */
describe('second factor: nothing in clear in the database or the logs', () => {
  const lines: string[] = [];
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { logLines: lines });
  });
  afterAll(() => t?.close());

  it('after a whole life of a factor, no row and no log line holds its secret, a code, a recovery code or an mfaToken', async () => {
    const secrets: string[] = [];
    const a = await register(t);
    const e = await op(t, EnrollTotpDocument, {}, { token: a.accessToken });
    const secret = e.data.enrollTotp.secret;
    const totp = new Authenticator(secret);
    const first = await totp.next();
    const c = await op(t, ConfirmTotpDocument, { code: first }, { token: a.accessToken });
    const recovery = c.data.confirmTotp;
    const tokens = [await mfaToken(t, a.email), await mfaToken(t, a.email)];
    await verifyMfa(t, tokens[0], recovery[0] === '000000' ? '111111' : '000000');
    const second = await totp.next();
    expect((await verifyMfa(t, tokens[0], second)).errors).toBeUndefined();
    expect((await verifyMfa(t, tokens[1], recovery[0])).errors).toBeUndefined();
    const third = await totp.next();
    const regen = await op(
      t,
      RegenerateRecoveryCodesDocument,
      { code: third },
      { token: a.accessToken },
    );
    const fresh = regen.data.regenerateRecoveryCodes;
    // A last login with a fresh recovery code, then a look before the factor is deleted.
    const last = await mfaToken(t, a.email);
    expect((await verifyMfa(t, last, fresh[1])).errors).toBeUndefined();
    tokens.push(last);

    secrets.push(secret, secret.toLowerCase(), first, second, third, ...tokens);
    for (const r of [...recovery, ...fresh]) secrets.push(r, r.replace(/-/g, ''));
    const raw = Buffer.from(
      // base32 to bytes, to look for the key itself in hex and base64 too
      secret
        .replace(/=+$/, '')
        .split('')
        .map((ch) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.indexOf(ch).toString(2).padStart(5, '0'))
        .join('')
        .match(/.{8}/g)!
        .map((b) => parseInt(b, 2)),
    );
    secrets.push(raw.toString('hex'), raw.toString('base64'), raw.toString('base64url'));

    const db = await dumpDatabase(t);
    const logs = lines.join('\n');
    expect(logs.length).toBeGreaterThan(1000);
    expect(db).toContain('totp_factors');
    expect(secrets.filter((s) => appears(db, s))).toEqual([]);
    expect(secrets.filter((s) => appears(logs, s))).toEqual([]);
    // The log does say what happened (without the values).
    expect(logs).toMatch(/"event":"mfa_failed"/);
    expect(logs).toMatch(/"event":"mfa_required"/);

    // The rows that hold them hold hashes: SHA-256 of the mfaToken, of the user id and recovery code.
    const challenge = await t.db.prisma.mfaChallenge.findFirst({
      where: { tokenHash: createHash('sha256').update(last).digest('hex') },
    });
    expect(challenge?.userId).toBe(a.user.id);
    const codeRow = await t.db.prisma.recoveryCode.findFirst({
      where: {
        userId: a.user.id,
        codeHash: createHash('sha256')
          .update(`${a.user.id}:${fresh[2].replace(/-/g, '')}`)
          .digest('hex'),
      },
    });
    expect(codeRow?.usedAt).toBeNull();

    // The secret is AES-256-GCM under the generated key of DATA_DIR, whose id is stored with it.
    const key = readFileSync(join(t.config.dataDir, 'mfa-encryption-key'), 'utf8').trim();
    const row = await t.db.prisma.totpFactor.findUnique({ where: { userId: a.user.id } });
    expect(row!.keyId).toBe(keyId(key));
    expect(decrypt(row!.secretEncrypted, key, a.user.id)).toBe(secret);
    // Bound to its user: another user id does not decrypt it.
    expect(() => decrypt(row!.secretEncrypted, key, t.config.dataDir)).toThrow();

    const off = await op(t, DisableTotpDocument, { code: fresh[3] }, { token: a.accessToken });
    expect(off.errors).toBeUndefined();
    expect(appears(lines.join('\n'), fresh[3])).toBe(false);
  });
});
