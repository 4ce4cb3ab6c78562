import { Field, ObjectType } from '@nestjs/graphql';
import { User } from '../users/user.model.js';

@ObjectType()
export class AuthPayload {
  @Field({ description: 'A short-lived JWT: send it as `Authorization: Bearer <token>`.' })
  accessToken: string;

  @Field()
  accessTokenExpiresAt: Date;

  @Field(() => String, {
    nullable: true,
    description: 'Opaque; null when the server delivers it as an HttpOnly cookie.',
  })
  refreshToken: string | null;

  @Field()
  refreshTokenExpiresAt: Date;

  @Field(() => User)
  user: User;
}
