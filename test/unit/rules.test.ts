import { describe, expect, it } from 'vitest';
import {
  charCount,
  emailProblem,
  emailTooLong,
  nameProblem,
  newPasswordProblem,
  normaliseEmail,
  passwordTooLarge,
  PASSWORD_MAX_CHARS,
  PASSWORD_MIN_CHARS,
  unsafeTextProblem,
} from '../../src/common/rules.js';

/** src/common/rules.ts: each input rule, tested once here; every entry point uses these. */
describe('passwords', () => {
  it('counts code points: 8 emoji pass, 7 do not', () => {
    expect(charCount('😀'.repeat(8))).toBe(8);
    expect(newPasswordProblem('😀'.repeat(PASSWORD_MIN_CHARS))).toBeNull();
    expect(newPasswordProblem('😀'.repeat(PASSWORD_MIN_CHARS - 1))).toContain('at least');
  });

  it(`accepts up to ${PASSWORD_MAX_CHARS} characters and refuses more`, () => {
    expect(newPasswordProblem('x'.repeat(PASSWORD_MAX_CHARS))).toBeNull();
    expect(newPasswordProblem('x'.repeat(PASSWORD_MAX_CHARS + 1))).toContain('at most');
    expect(newPasswordProblem('y'.repeat(1_000_000))).toContain('at most');
  });

  it('is too large to check only for sizes nobody types', () => {
    expect(passwordTooLarge('x'.repeat(PASSWORD_MAX_CHARS))).toBe(false);
    expect(passwordTooLarge('x'.repeat(100_000))).toBe(true);
    expect(passwordTooLarge('😀'.repeat(1025))).toBe(true); // 4100 bytes
  });
});

describe('email addresses (RFC 5321 sizes)', () => {
  it('normalises by trimming and lower-casing', () => {
    expect(normaliseEmail('  Ada@Example.COM\t')).toBe('ada@example.com');
  });

  it.each([
    ['ada@example.com', null],
    [`${'a'.repeat(64)}@example.com`, null],
    [`${'a'.repeat(65)}@example.com`, 'at most 64'],
    [`a@${'b'.repeat(63)}.com`, null],
    [`a@${'b'.repeat(64)}.com`, 'valid email'],
    [`ab@${'b.'.repeat(124)}com`, null], // 254 characters
    [`abc@${'b.'.repeat(124)}com`, 'at most 254'],
    ['not-an-email', 'valid email'],
    ['a b@example.com', 'valid email'],
    ['a@example..com', 'valid email'],
    ['a\u0001@example.com', 'valid email'],
  ])('%j: %s', (email, problem) => {
    const p = emailProblem(email);
    if (problem === null) expect(p).toBeNull();
    else expect(p).toContain(problem);
  });

  it('the 254 limit counts UTF-8 bytes (RFC 5321 octets), not characters, for emailProblem and the login short-cut alike', () => {
    const ascii = `ab@${'b.'.repeat(124)}com`; // 254 bytes
    const wide = `${'é'.repeat(60)}@${'ü'.repeat(60)}.com`; // 125 characters, 245 bytes
    const wider = `${'é'.repeat(60)}@${'ü'.repeat(60)}.${'ö'.repeat(5)}.com`; // 131 characters, 256 bytes
    expect(emailTooLong(ascii)).toBe(false);
    expect(emailTooLong(wide)).toBe(false);
    expect(emailTooLong(wider)).toBe(true);
    expect(emailProblem(wider)).toContain('at most 254');
  });
});

describe('names and text', () => {
  it('a name is at most 100 characters, without control characters', () => {
    expect(nameProblem('n'.repeat(100))).toBeNull();
    expect(nameProblem('n'.repeat(101))).toContain('at most 100');
    expect(nameProblem('a\u0007b')).toContain('control');
  });

  it('NUL and lone surrogates are refused; RTL marks and emoji are text', () => {
    expect(unsafeTextProblem('a\u0000b')).toContain('NUL');
    expect(unsafeTextProblem('a\ud800b')).toContain('surrogate');
    expect(unsafeTextProblem('\udc00')).toContain('surrogate');
    expect(unsafeTextProblem('\u202eabc😀')).toBeNull();
  });
});
