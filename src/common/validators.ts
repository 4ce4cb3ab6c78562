import { registerDecorator, type ValidationOptions } from 'class-validator';
import {
  EMAIL_ATTEMPT_MAX,
  emailProblem,
  isOpaqueToken,
  isUuid,
  mfaCodeProblem,
  nameProblem,
  newPasswordProblem,
  PASSWORD_MAX_BYTES,
  TOKEN_ATTEMPT_MAX,
  totpCodeProblem,
} from './rules.js';

/**
 * class-validator decorators for the rules of common/rules.ts. Every field of
 * every @InputType / @ArgsType carries one (test/unit/validation.test.ts
 * fails otherwise); the global InputPipe (graphql/input.pipe.ts) runs them
 * and answers BAD_USER_INPUT naming the fields.
 */
function rule(
  name: string,
  problem: (value: unknown) => string | null,
  options?: ValidationOptions,
): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => problem(value) === null,
        defaultMessage: (args) => problem(args?.value) ?? 'is invalid',
      },
    });
  };
}

const str = (check: (s: string) => string | null) => (v: unknown) =>
  typeof v === 'string' ? check(v) : 'must be a string';

/** An address as the contract wants it (RFC 5321 sizes; normalised by the service). */
export const IsAccountEmail = (o?: ValidationOptions) =>
  rule('isAccountEmail', str(emailProblem), o);

/** An address given to look an account up (login): only its size is checked, so nothing tells. */
export const IsEmailAttempt = (o?: ValidationOptions) =>
  rule(
    'isEmailAttempt',
    str((s) => (s.length > EMAIL_ATTEMPT_MAX ? 'is too long' : null)),
    o,
  );

/**
 * Fields whose value is only ever hashed, never stored or compared as text
 * (passwords): any character counts there, a NUL included, so InputPipe's
 * check of stored text leaves them alone.
 */
const secretFields = new WeakMap<object, Set<string>>();

export function isSecretField(type: unknown, field: string): boolean {
  return typeof type === 'function' && (secretFields.get(type)?.has(field) ?? false);
}

const secret =
  (decorator: PropertyDecorator): PropertyDecorator =>
  (target, propertyName) => {
    const set = secretFields.get(target.constructor) ?? new Set<string>();
    set.add(propertyName as string);
    secretFields.set(target.constructor, set);
    decorator(target, propertyName);
  };

/** A password being set: 8 to 1024 characters, every one counts. */
export const IsNewPassword = (o?: ValidationOptions) =>
  secret(rule('isNewPassword', str(newPasswordProblem), o));

/**
 * A password being checked (login, current password): only a size no client
 * sends is refused here; a password too large to be anyone's is a failed
 * login (the service counts it, without hashing).
 */
export const IsPasswordAttempt = (o?: ValidationOptions) =>
  secret(
    rule(
      'isPasswordAttempt',
      str((s) =>
        Buffer.byteLength(s, 'utf8') > PASSWORD_MAX_BYTES
          ? `must be at most ${PASSWORD_MAX_BYTES} bytes`
          : null,
      ),
      o,
    ),
  );

export const IsDisplayName = (o?: ValidationOptions) => rule('isDisplayName', str(nameProblem), o);

/** One of our opaque tokens (43 base64url characters): anything else never reaches the database. */
export const IsOpaqueToken = (o?: ValidationOptions) =>
  rule('isOpaqueToken', (v) => (isOpaqueToken(v) ? null : 'is not a valid token'), o);

/**
 * A token the service checks itself (refresh token, device token): a wrong
 * one has its own answer there, so only a size no client sends is refused here.
 */
export const IsTokenAttempt = (o?: ValidationOptions) =>
  rule(
    'isTokenAttempt',
    str((s) =>
      s.length > TOKEN_ATTEMPT_MAX ? `must be at most ${TOKEN_ATTEMPT_MAX} characters` : null,
    ),
    o,
  );

/** A current TOTP code: 6 digits. */
export const IsTotpCode = (o?: ValidationOptions) => rule('isTotpCode', str(totpCodeProblem), o);

/** A TOTP code or a recovery code (verifyMfa, disableTotp, regenerateRecoveryCodes). */
export const IsMfaCode = (o?: ValidationOptions) => rule('isMfaCode', str(mfaCodeProblem), o);

export const IsId = (o?: ValidationOptions) =>
  rule('isId', (v) => (isUuid(v) ? null : 'must be an id'), o);

/**
 * A field with no rule beyond its GraphQL type (a Boolean, an enum): says so
 * explicitly, so that a field without any rule is a mistake the test catches.
 */
export const NoRuleNeeded = (o?: ValidationOptions) => rule('noRuleNeeded', () => null, o);
