import { createHash, randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import { TOTP_CODE } from '../common/rules.js';

/**
 * The codes of the second factor: TOTP (RFC 6238 through otplib: SHA-1, 6
 * digits, 30 s, one step either side), recovery codes and mfaTokens.
 */

export const TOTP_PERIOD = 30;
/** ±1 step: otplib's tolerance is in seconds. */
const TOLERANCE_SECONDS = TOTP_PERIOD;

/** 10 codes of 80 random bits each: 20 hex digits, shown in groups of 5 (`3f9a1-0c4d2-b7e65-19a0f`). */
export const RECOVERY_CODE_COUNT = 10;
const RECOVERY_BYTES = 10;

/** An mfaToken lives MFA_CHALLENGE_TTL and dies after this many codes tried with it. */
export const MFA_TOKEN_MAX_ATTEMPTS = 5;

/** A new base32 secret of 160 bits (RFC 4226's recommended size). */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function otpauthUri(issuer: string, accountName: string, secret: string): string {
  return generateURI({
    issuer,
    label: accountName,
    secret,
    algorithm: 'sha1',
    digits: 6,
    period: TOTP_PERIOD,
  });
}

/**
 * The time step of a code valid now (±1 step) and later than `afterStep`
 * (the last step accepted for the user: replay protection), or null.
 */
export async function totpStep(
  secret: string,
  code: string,
  afterStep: number | null,
): Promise<number | null> {
  if (!TOTP_CODE.test(code)) return null;
  const r = await verify({
    secret,
    token: code,
    algorithm: 'sha1',
    digits: 6,
    period: TOTP_PERIOD,
    epochTolerance: TOLERANCE_SECONDS,
    ...(afterStep !== null ? { afterTimeStep: afterStep } : {}),
  });
  // TOTP's result (the functional API's type also covers HOTP's, which has no timeStep).
  return r.valid && 'timeStep' in r ? r.timeStep : null;
}

export function isTotpCode(code: string): boolean {
  return TOTP_CODE.test(code);
}

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () =>
    (randomBytes(RECOVERY_BYTES).toString('hex').match(/.{5}/g) ?? []).join('-'),
  );
}

/** The stored form of a recovery code: SHA-256 of the user id and the code as typed, normalised. */
export function recoveryCodeHash(userId: string, code: string): string {
  const normalised = code.replace(/[ -]/g, '').toLowerCase();
  return createHash('sha256').update(`${userId}:${normalised}`).digest('hex');
}

/** A new mfaToken: 256 random bits, base64url (43 characters). */
export function newMfaToken(): string {
  return randomBytes(32).toString('base64url');
}

export function mfaTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
