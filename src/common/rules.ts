/**
 * The input rules of the API, each written once. The class-validator
 * decorators of common/validators.ts apply them to every GraphQL input; the
 * CLI and the services call the same functions. docs/api.md lists them for
 * users.
 */

/** RFC 5321 4.5.3.1: a path is at most 256 octets with its brackets, so an address 254. */
export const EMAIL_MAX = 254;
/** RFC 5321 4.5.3.1.1: the local part is at most 64 octets. */
export const EMAIL_LOCAL_MAX = 64;
/** RFC 1035: a DNS label is at most 63 octets. */
const DNS_LABEL_MAX = 63;
export const NAME_MAX = 100;
export const PASSWORD_MIN_CHARS = 8;
/** Generous for passphrases and password managers; anything longer is refused before hashing. */
export const PASSWORD_MAX_CHARS = 1024;
/** A password's UTF-8 size beyond which no hashing is ever done. */
export const PASSWORD_MAX_BYTES = 4096;
/** Page sizes of every list (`first`). */
export const PAGE_MIN = 1;
export const PAGE_MAX = 100;
export const PAGE_DEFAULT = 20;
/**
 * Sizes beyond which a value given only to be looked up or compared (a login
 * email, a refresh or device token) is refused before any work: the service
 * then says what is wrong with it (UNAUTHENTICATED, ignored token...).
 */
export const EMAIL_ATTEMPT_MAX = 1024;
export const TOKEN_ATTEMPT_MAX = 512;
/** A stored user agent is cut to this many characters. */
export const USER_AGENT_MAX = 512;

/** An opaque token of ours: 32 random bytes in base64url (refresh, verification, reset, mfa tokens). */
export const OPAQUE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** A TOTP code as typed: exactly 6 digits (RFC 6238 with the usual 6 digits). */
export const TOTP_CODE = /^\d{6}$/;
/** A recovery code as typed: 20 hex digits, any case, single dashes or spaces between (as shown: 5-5-5-5). */
export const RECOVERY_CODE = /^[0-9a-fA-F](?:[ -]?[0-9a-fA-F]){19}$/;

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Controls other than tab, line feed and carriage return; PostgreSQL refuses NUL in text. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** The one normalisation of an address: trimmed and lower-cased. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Code points, not UTF-16 units: an emoji is one character. */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * A string no layer below can store as given: a NUL byte (PostgreSQL text
 * refuses it) or a lone UTF-16 surrogate (not Unicode; it would be stored
 * as U+FFFD, i.e. changed).
 */
export function unsafeTextProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'must not contain a NUL character';
  if (!s.isWellFormed()) return 'must be valid Unicode (no lone surrogate)';
  return null;
}

/** True when a normalised address is longer than EMAIL_MAX octets (UTF-8 bytes, not characters): no one's. */
export function emailTooLong(email: string): boolean {
  return Buffer.byteLength(email, 'utf8') > EMAIL_MAX;
}

/** Problems of an address (already normalised or not), or null. */
export function emailProblem(raw: string): string | null {
  const email = normaliseEmail(raw);
  if (emailTooLong(email)) return `must be at most ${EMAIL_MAX} characters`;
  if (CONTROL.test(email) || !EMAIL_SHAPE.test(email)) return 'must be a valid email address';
  const at = email.lastIndexOf('@');
  if (Buffer.byteLength(email.slice(0, at), 'utf8') > EMAIL_LOCAL_MAX)
    return `must have at most ${EMAIL_LOCAL_MAX} characters before the @`;
  const labels = email.slice(at + 1).split('.');
  if (labels.some((l) => l.length === 0 || Buffer.byteLength(l, 'utf8') > DNS_LABEL_MAX))
    return 'must be a valid email address';
  return null;
}

/** The one normalisation of a password before it is counted, compared or hashed: NFKC (NIST SP 800-63B). */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

/** True when a password is too big to be anyone's: refused (or failed) before any hashing. */
export function passwordTooLarge(password: string): boolean {
  return (
    password.length > PASSWORD_MAX_CHARS * 2 ||
    Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES
  );
}

/** Problems of a new password (register, change, reset), or null. */
export function newPasswordProblem(password: string): string | null {
  // Size first, on the raw string: an absurd input is refused before any work.
  if (passwordTooLarge(password)) return `must be at most ${PASSWORD_MAX_CHARS} characters`;
  const n = charCount(normalisePassword(password));
  if (n < PASSWORD_MIN_CHARS) return `must be at least ${PASSWORD_MIN_CHARS} characters`;
  if (n > PASSWORD_MAX_CHARS) return `must be at most ${PASSWORD_MAX_CHARS} characters`;
  return null;
}

/** A display name: trimmed, empty means none. */
export function normaliseName(name: string | null | undefined): string | null {
  const t = name?.trim();
  return t ? t : null;
}

export function nameProblem(name: string): string | null {
  if (charCount(name.trim()) > NAME_MAX) return `must be at most ${NAME_MAX} characters`;
  if (CONTROL.test(name)) return 'must not contain control characters';
  return null;
}

export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID.test(s);
}

export function isOpaqueToken(s: unknown): s is string {
  return typeof s === 'string' && OPAQUE_TOKEN.test(s);
}

/** A second-factor code: a TOTP code or a recovery code (anything else never reaches the database). */
export function mfaCodeProblem(code: string): string | null {
  return TOTP_CODE.test(code) || RECOVERY_CODE.test(code)
    ? null
    : 'must be a 6-digit code or a recovery code';
}

export function totpCodeProblem(code: string): string | null {
  return TOTP_CODE.test(code) ? null : 'must be a 6-digit code';
}
