import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { SecurityEventType } from '../generated/prisma/enums.js';

export { SecurityEventType };

registerEnumType(SecurityEventType, {
  name: 'SecurityEventType',
  description: 'What the security log records.',
});

/** One entry of the security log. Never holds a password, token, code or secret. */
@ObjectType()
export class SecurityEvent {
  @Field(() => ID)
  id: string;

  @Field(() => SecurityEventType)
  type: SecurityEventType;

  @Field(() => ID, { nullable: true, description: 'Null for a failed login on an unknown email.' })
  userId: string | null;

  @Field(() => ID, { nullable: true })
  sessionId: string | null;

  @Field(() => String, { nullable: true })
  ip: string | null;

  @Field(() => String, { nullable: true })
  userAgent: string | null;

  @Field()
  createdAt: Date;
}
