import { Field, ID, ObjectType } from '@nestjs/graphql';

/** A login of the caller: one refresh-token family. */
@ObjectType()
export class Session {
  @Field(() => ID)
  id: string;

  @Field(() => String, { nullable: true })
  userAgent: string | null;

  @Field(() => String, { nullable: true })
  ip: string | null;

  @Field()
  createdAt: Date;

  @Field({ description: 'When the session was opened or last refreshed.' })
  lastUsedAt: Date;

  @Field()
  expiresAt: Date;

  @Field({ description: 'True for the session of the access token that asked.' })
  current: boolean;
}
