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
}

/** The public columns of a user row (what a query may select for a response). */
export interface PublicUserRow {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  createdAt: Date;
  updatedAt: Date;
}

/** Copies only the public fields, so a password hash can never reach a response. */
export function toUser(row: PublicUserRow): User {
  const u = new User();
  u.id = row.id;
  u.email = row.email;
  u.name = row.name;
  u.role = row.role;
  u.createdAt = row.createdAt;
  u.updatedAt = row.updatedAt;
  return u;
}
