import { describe, expect, it } from 'vitest';
import { PasswordService } from '../../src/passwords/password.service.js';
import { AppConfig } from '../../src/config/app-config.js';
import { parseEnv } from '../../src/config/config.schema.js';

const service = new PasswordService(
  new AppConfig(parseEnv({ BCRYPT_ROUNDS: '4' }), '/tmp', 'x'.repeat(32)),
);

describe('PasswordService hash/verify (the prehash)', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const h = await service.hash('correct horse battery');
    expect(h).toMatch(/^\$2[aby]\$04\$/);
    expect(await service.verify('correct horse battery', h)).toBe(true);
    expect(await service.verify('correct horse batterY', h)).toBe(false);
  });

  it('every byte counts past bcrypt’s 72', async () => {
    const prefix = 'a'.repeat(72);
    const h = await service.hash(`${prefix}1`);
    expect(await service.verify(`${prefix}2`, h)).toBe(false);
    expect(await service.verify(prefix, h)).toBe(false);
    expect(await service.verify(`${prefix}1`, h)).toBe(true);
  });

  it('NUL characters count (no C-string cut)', async () => {
    const h = await service.hash('abc\u0000def-ghi');
    expect(await service.verify('abc', h)).toBe(false);
    expect(await service.verify('abc\u0000xyz-ghi', h)).toBe(false);
    expect(await service.verify('abc\u0000def-ghi', h)).toBe(true);
  });

  it('normalises NFKC: NFC and NFD (and compatibility forms) match', async () => {
    const nfc = 'Ångström café'.normalize('NFC');
    const h = await service.hash(nfc);
    expect(await service.verify(nfc.normalize('NFD'), h)).toBe(true);
    const hk = await service.hash('ﬁne password'); // U+FB01 ligature
    expect(await service.verify('fine password', hk)).toBe(true);
  });

  it('the same password hashes differently each time (salt)', async () => {
    const [a, b] = await Promise.all([
      service.hash('same password'),
      service.hash('same password'),
    ]);
    expect(a).not.toBe(b);
  });

  it('verifyDummy is always false', async () => {
    expect(await service.verifyDummy('anything at all')).toBe(false);
  });
});
