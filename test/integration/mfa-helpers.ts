import { generate } from 'otplib';
import { expect } from 'vitest';
import {
  ConfirmTotpDocument,
  EnrollTotpDocument,
  LoginDocument,
  VerifyMfaDocument,
  type AuthPayloadFieldsFragment,
} from '../generated/graphql.js';
import type { GqlResponse, TestApp } from '../support/app.js';
import { op, PASSWORD, register } from './helpers.js';

const PERIOD = 30;

/** The current TOTP time step (RFC 6238: unix seconds / 30). */
export function stepNow(): number {
  return Math.floor(Date.now() / 1000 / PERIOD);
}

/** Returns at once when at least 5 s of the current step remain, else when the next step begins. */
export async function safeMoment(): Promise<void> {
  const left = PERIOD * 1000 - (Date.now() % (PERIOD * 1000));
  if (left < 5000) await new Promise((r) => setTimeout(r, left + 50));
}

/** The code of a time step, computed with otplib as an authenticator app does. */
export function codeAt(secret: string, step: number): Promise<string> {
  return generate({ secret, epoch: step * PERIOD + 1 });
}

/**
 * An authenticator for one secret that never shows a code twice: each call
 * gives the code of the earliest step not used yet that the server accepts
 * (now ±1 step). The previous step only while at least 5 s of the current
 * one remain, so that a code stays valid if the server checks it a moment
 * later; when now + 1 is used up it waits for the next step (no test
 * asserts on time).
 */
export class Authenticator {
  private last = -Infinity;
  constructor(readonly secret: string) {}

  async next(): Promise<string> {
    for (;;) {
      const seconds = Date.now() / 1000;
      const now = Math.floor(seconds / PERIOD);
      const earliest = seconds - now * PERIOD < PERIOD - 5 ? now - 1 : now;
      const step = Math.max(this.last + 1, earliest);
      if (step <= now + 1) {
        this.last = step;
        return codeAt(this.secret, step);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** The code of the step used last (a replay). */
  lastCode(): Promise<string> {
    return codeAt(this.secret, this.last);
  }
}

export interface MfaUser {
  email: string;
  password: string;
  /** The access token of the session the enrolment was confirmed in. */
  accessToken: string;
  userId: string;
  totp: Authenticator;
  recoveryCodes: string[];
}

/** A fresh account with a confirmed second factor. */
export async function registerWithMfa(t: TestApp, email?: string): Promise<MfaUser> {
  const a = await register(t, email);
  const e = await op(t, EnrollTotpDocument, {}, { token: a.accessToken });
  expect(e.errors).toBeUndefined();
  const totp = new Authenticator(e.data.enrollTotp.secret);
  const c = await op(t, ConfirmTotpDocument, { code: await totp.next() }, { token: a.accessToken });
  expect(c.errors).toBeUndefined();
  return {
    email: a.email,
    password: a.password,
    accessToken: a.accessToken,
    userId: a.user.id,
    totp,
    recoveryCodes: c.data.confirmTotp,
  };
}

/** login's MFA_REQUIRED step: the mfaToken (fails the test on any other answer). */
export async function mfaToken(t: TestApp, email: string, password = PASSWORD): Promise<string> {
  const r = await op(t, LoginDocument, { input: { email, password } });
  expect(r.code).toBe('MFA_REQUIRED');
  const token = r.errors?.[0]?.extensions?.mfaToken;
  expect(typeof token).toBe('string');
  return token as string;
}

export function verifyMfa(
  t: TestApp,
  token: string,
  code: string,
  opts?: { cookie?: string },
): Promise<GqlResponse<{ verifyMfa: AuthPayloadFieldsFragment }>> {
  return op(t, VerifyMfaDocument, { input: { mfaToken: token, code } }, opts);
}

/** Both steps of a login with a TOTP code; fails the test on a refusal. */
export async function loginWithMfa(t: TestApp, u: MfaUser): Promise<AuthPayloadFieldsFragment> {
  const r = await verifyMfa(t, await mfaToken(t, u.email, u.password), await u.totp.next());
  expect(r.errors).toBeUndefined();
  return r.data.verifyMfa;
}

/** The claims of a JWT (no check: the server checked it). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<
    string,
    unknown
  >;
}
