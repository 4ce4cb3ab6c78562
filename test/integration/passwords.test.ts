import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginDocument, RegisterDocument } from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { op, register, uniqueEmail } from './helpers.js';

/** docs/api.md, Semantics, Passwords: ≥ 8 characters, every character counts, long Unicode accepted, absurd sizes refused. */
describe('passwords', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const tryRegister = (password: string, email = uniqueEmail()) =>
    op(t, RegisterDocument, { input: { email, password } });
  const tryLogin = (email: string, password: string) =>
    op(t, LoginDocument, { input: { email, password } });

  it.each(['', 'a', '1234567', 'äöüßéèà'])(
    'a password of fewer than 8 characters (%j) is BAD_USER_INPUT naming password',
    async (password) => {
      const r = await tryRegister(password);
      expect(r.code).toBe('BAD_USER_INPUT');
      expect((r.errors![0].extensions!.fields as { field: string }[])[0].field).toBe('password');
    },
  );

  it('exactly 8 characters is accepted', async () => {
    expect((await tryRegister('12345678')).errors).toBeUndefined();
  });

  it('8 emoji are 8 characters, not 16 UTF-16 units or 32 bytes: accepted; 7 are refused', async () => {
    expect((await tryRegister('🔑'.repeat(8))).errors).toBeUndefined();
    expect((await tryRegister('🔑'.repeat(7))).code).toBe('BAD_USER_INPUT');
  });

  it('no truncation at 72 bytes: passwords sharing the first 72 bytes are different', async () => {
    const prefix = 'p'.repeat(72);
    const a = await register(t, uniqueEmail(), `${prefix}-first`);
    expect((await tryLogin(a.email, `${prefix}-second`)).code).toBe('UNAUTHENTICATED');
    expect((await tryLogin(a.email, prefix)).code).toBe('UNAUTHENTICATED');
    expect((await tryLogin(a.email, `${prefix}-first`)).errors).toBeUndefined();
  });

  it('no truncation with multibyte characters either (72 bytes = 18 four-byte emoji)', async () => {
    const prefix = '😀'.repeat(18); // 72 bytes in UTF-8
    const a = await register(t, uniqueEmail(), `${prefix}é`);
    expect((await tryLogin(a.email, `${prefix}è`)).code).toBe('UNAUTHENTICATED');
    expect((await tryLogin(a.email, `${prefix}é`)).errors).toBeUndefined();
  });

  it('accents and emoji work; NFC and NFD forms of one password both log in', async () => {
    const nfc = 'Crème brûlée 🍮 naïve'.normalize('NFC');
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    const a = await register(t, uniqueEmail(), nfc);
    expect((await tryLogin(a.email, nfc)).errors).toBeUndefined();
    expect((await tryLogin(a.email, nfd)).errors).toBeUndefined();
    const b = await register(t, uniqueEmail(), nfd);
    expect((await tryLogin(b.email, nfc)).errors).toBeUndefined();
    // A different accent is a different password.
    expect((await tryLogin(a.email, 'Crème brulée 🍮 naïve')).code).toBe('UNAUTHENTICATED');
  });

  it('NUL characters count: a password with one is not the password cut at it', async () => {
    const pw = 'before\u0000after-the-nul';
    const a = await register(t, uniqueEmail(), pw);
    expect((await tryLogin(a.email, 'before')).code).toBe('UNAUTHENTICATED');
    expect((await tryLogin(a.email, 'before\u0000after-the-NUL')).code).toBe('UNAUTHENTICATED');
    expect((await tryLogin(a.email, pw)).errors).toBeUndefined();
    const b = await register(t, uniqueEmail(), '\u0000'.repeat(8) + 'x');
    expect((await tryLogin(b.email, '\u0000'.repeat(9) + 'x')).code).toBe('UNAUTHENTICATED');
  });

  it.each([
    [
      '128 characters of mixed scripts',
      [...'日本語パスワード🔐ÆØÅ'].join('').repeat(12).slice(0, 128),
    ],
    ['1000 Unicode characters', 'ß😀ж'.repeat(334).slice(0, 1000)],
    ['1000 ASCII characters', 'x'.repeat(999) + 'y'],
  ])('a long password (%s) is accepted and logs in', async (_name, pw) => {
    const a = await register(t, uniqueEmail(), pw);
    expect((await tryLogin(a.email, pw)).errors).toBeUndefined();
    // The last character counts.
    expect((await tryLogin(a.email, pw.slice(0, -1) + 'Z')).code).toBe('UNAUTHENTICATED');
  });

  it("a password too long to be anyone's (3000 characters) at login is UNAUTHENTICATED", async () => {
    const a = await register(t);
    expect((await tryLogin(a.email, 'z'.repeat(3000))).code).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['5000 characters', 'x'.repeat(5000)],
    ['1 MB', 'y'.repeat(1_000_000)],
  ])(
    'an absurd password (%s) is refused: BAD_USER_INPUT (or 413 past the body limit), never 500',
    async (_name, pw) => {
      const email = uniqueEmail();
      const r = await tryRegister(pw, email);
      expect(r.status).not.toBe(500);
      // A body over the server's size limit is refused by the HTTP layer (413);
      // otherwise GraphQL answers BAD_USER_INPUT.
      if (r.status === 200) {
        expect(r.code).toBe('BAD_USER_INPUT');
        expect(JSON.stringify(r.errors)).toContain('password');
      } else {
        expect(r.status).toBe(413);
      }
      expect(await t.db.prisma.user.count({ where: { email } })).toBe(0);

      const a = await register(t);
      const l = await tryLogin(a.email, pw);
      expect(l.status).not.toBe(500);
      // Login refuses it at the input's shape limit (4096), like register: BAD_USER_INPUT
      // naming the field (it says nothing about the account), and opens no session.
      if (l.status === 200) {
        expect(l.code).toBe('BAD_USER_INPUT');
        expect(JSON.stringify(l.errors)).toContain('password');
      } else {
        expect(l.status).toBe(413);
      }
      expect(await t.db.prisma.session.count({ where: { userId: a.user.id } })).toBe(1);
    },
  );
});
