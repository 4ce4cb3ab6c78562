/**
 * Tokens a test makes itself: signed by a key it holds (the API's own, which
 * the test provisioned as JWT_PRIVATE_KEY, or a stranger's), or hostile
 * variants of a real token (alg none, HS256 with the public key as the
 * secret, tampered parts).
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  importPKCS8,
  SignJWT,
  type JWTPayload,
} from 'jose';

export interface Es256Key {
  /** PKCS#8 PEM: what JWT_PRIVATE_KEY takes. */
  privatePem: string;
  /** SPKI PEM: what JWT_PUBLISHED_KEYS takes. */
  publicPem: string;
  publicKey: KeyObject;
}

export function newEs256Key(): Es256Key {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicKey,
  };
}

/** The claims of a token (no verification: the test's own view of it). */
export const claimsOf = (token: string): JWTPayload => decodeJwt(token);
export const kidOf = (token: string): string | undefined => decodeProtectedHeader(token).kid;

/** An ES256 JWT signed with `key`, with exactly this header (alg added) and these claims. */
export async function signEs256(
  key: Es256Key,
  header: Record<string, unknown>,
  claims: JWTPayload,
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ ...header, alg: 'ES256' })
    .sign(await importPKCS8(key.privatePem, 'ES256'));
}

/** An HS256 JWT whose HMAC secret is `secret` (algorithm confusion: our public key as the secret). */
export function signHs256(secret: Uint8Array, header: Record<string, unknown>, claims: JWTPayload) {
  return new SignJWT(claims).setProtectedHeader({ ...header, alg: 'HS256' }).sign(secret);
}

const enc = (v: unknown) => base64url.encode(JSON.stringify(v));

/** An unsecured JWT (`alg: none`, empty signature). */
export function unsigned(header: Record<string, unknown>, claims: JWTPayload): string {
  return `${enc({ ...header, alg: 'none' })}.${enc(claims)}.`;
}

/** `token` with its payload replaced by `claims` and the original header and signature kept. */
export function withPayload(token: string, claims: JWTPayload): string {
  const [h, , s] = token.split('.');
  return `${h}.${enc(claims)}.${s}`;
}

/** `token` with one character of its signature changed. */
export function withFlippedSignature(token: string): string {
  const [h, p, s] = token.split('.');
  const i = Math.floor(s.length / 2);
  const c = s[i] === 'A' ? 'B' : 'A';
  return `${h}.${p}.${s.slice(0, i)}${c}${s.slice(i + 1)}`;
}

/** A public JWK as the JWKS serves it -> SPKI PEM (the bytes an HS256 confusion uses as the secret). */
export function pemOfJwk(jwk: Record<string, unknown>): string {
  const { kty, crv, x, y } = jwk as Record<string, string>;
  return createPublicKey({ key: { kty, crv, x, y }, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
}

export const now = (): number => Math.floor(Date.now() / 1000);
