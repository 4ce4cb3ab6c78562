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

  @Field(() => ID, {
    nullable: true,
    description:
      'The admin who made the change (ROLE_CHANGED, USER_DISABLED, USER_ENABLED); null when the user did it, for an anonymous caller, and for `npm run user:role` on the database.',
  })
  actorId: string | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "The session the event happened in. In the user's own log (securityEvents), null for a change an admin made.",
  })
  sessionId: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The caller's address. In the user's own log, null for a change an admin made.",
  })
  ip: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The caller's user agent. In the user's own log, null for a change an admin made.",
  })
  userAgent: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The id of the request (the server's `reqId` log field, and the X-Request-Id response header). In the user's own log, null for a change an admin made.",
  })
  requestId: string | null;

  @Field()
  createdAt: Date;
}
