import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/** A device token that verified: `key` names its own attempt counter (`device:<nonce>`). */
export interface TrustedDevice {
  key: string;
}

const VERSION = 'd1';
const TOKEN = /^d1\.(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/**
 * Device tokens (OWASP, "Slow Down Online Guessing Attacks with Device
 * Cookies"): after a successful login (or register, or second factor) the
 * client gets a token that says "this device logged in to this account
 * before". A login that presents a valid one for the account it names:
 *
 * - is not held by the account's failed-login lock, which is meant for
 *   strangers (a flood of wrong guesses on the account cannot lock its owner
 *   out); its own wrong passwords are counted per token instead, and a token
 *   that used up AUTH_LOGIN_MAX_FAILURES in the window counts for nothing
 *   (the login is then an untrusted one);
 * - checks its password in the hashing queue's trusted lane, ahead of the
 *   strangers'.
 *
 * The token is stateless: `d1.<expiry, unix s>.<nonce, 16 random bytes>.<HMAC-SHA256>`,
 * the HMAC over the version, the normalised email, the expiry and the nonce,
 * keyed by a key derived from JWT_ACCESS_SECRET. It holds no email and grants
 * nothing by itself (the password is still checked); it lives
 * AUTH_DEVICE_TOKEN_TTL. Clients in cookie mode get it as an HttpOnly cookie
 * (AUTH_DEVICE_COOKIE_NAME, path /graphql), others in AuthPayload.deviceToken,
 * to send back in LoginInput.deviceToken.
 */
@Injectable()
export class DeviceTokenService {
  private readonly key: Buffer;

  constructor(private readonly config: AppConfig) {
    this.key = createHmac('sha256', config.jwtAccessSecret)
      .update('auth-api/device-token/v1')
      .digest();
  }

  get enabled(): boolean {
    return this.config.env.AUTH_DEVICE_TOKENS;
  }

  /** A new token for `email` (normalised), or null when device tokens are off. */
  issue(email: string, now = Date.now()): string | null {
    if (!this.enabled) return null;
    const expiry = String(Math.floor((now + this.config.env.AUTH_DEVICE_TOKEN_TTL) / 1000));
    const nonce = randomBytes(16).toString('base64url');
    return `${VERSION}.${expiry}.${nonce}.${this.mac(email, expiry, nonce).toString('base64url')}`;
  }

  /** The device, when `token` is one of ours for `email` (normalised) and has not expired; else null. */
  verify(token: string | null | undefined, email: string, now = Date.now()): TrustedDevice | null {
    if (!this.enabled || !token) return null;
    const m = TOKEN.exec(token);
    if (!m) return null;
    const [, expiry, nonce, mac] = m;
    if (Number(expiry) * 1000 <= now) return null;
    const given = Buffer.from(mac, 'base64url');
    const expected = this.mac(email, expiry, nonce);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return { key: `device:${nonce}` };
  }

  private mac(email: string, expiry: string, nonce: string): Buffer {
    return createHmac('sha256', this.key)
      .update(`${VERSION}\n${email}\n${expiry}\n${nonce}`)
      .digest();
  }
}
