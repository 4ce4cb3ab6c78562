import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Role } from '../generated/prisma/enums.js';

export { Role };

registerEnumType(Role, { name: 'Role', description: 'What a user may do.' });

/** A registered user. Never carries the password or anything derived from it. */
@ObjectType()
export class User {
  @Field(() => ID)
  id: string;

  @Field({ description: 'Normalised: trimmed and lower-cased.' })
  email: string;

  @Field(() => String, { nullable: true })
  name: string | null;

  @Field(() => Role)
  role: Role;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;

  @Field({ description: 'True once the address was proven (verifyEmail, or a password reset).' })
  emailVerified: boolean;

  @Field({ description: 'True when login asks for a second factor (TOTP).' })
  mfaEnabled: boolean;

  @Field({ description: 'True when an admin disabled the account: no login, no refresh.' })
  disabled: boolean;
}

/** The public columns of a user row (what a query may select for a response). */
export interface PublicUserRow {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  createdAt: Date;
  updatedAt: Date;
  emailVerifiedAt: Date | null;
  mfaEnabled: boolean;
  disabledAt: Date | null;
}

/**
 * The SELECT list of PublicUserRow but its `id`, for raw SQL on `users`
 * aliased `u` (the hot statements): the one place that lists the public
 * columns. (Without the id, so that a JOIN can select another table's `id`.)
 */
export const PUBLIC_USER_COLUMNS = `u.email, u.name, u.role::text AS role,
              u.created_at AS "createdAt", u.updated_at AS "updatedAt",
              u.email_verified_at AS "emailVerifiedAt", u.mfa_enabled AS "mfaEnabled",
              u.disabled_at AS "disabledAt"`;

/** Copies only the public fields, so a password hash can never reach a response. */
export function toUser(row: PublicUserRow): User {
  const u = new User();
  u.id = row.id;
  u.email = row.email;
  u.name = row.name;
  u.role = row.role;
  u.createdAt = row.createdAt;
  u.updatedAt = row.updatedAt;
  u.emailVerified = row.emailVerifiedAt !== null;
  u.mfaEnabled = row.mfaEnabled;
  u.disabled = row.disabledAt !== null;
  return u;
}
