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

  @Field(() => String, {
    nullable: true,
    description:
      'After a login, register or second factor: proof that this device signed in to this account. Send it back in LoginInput.deviceToken: a flood of wrong guesses on the account then does not lock this device out. Null in cookie mode (an HttpOnly cookie instead) and on refreshes.',
  })
  deviceToken: string | null;
}
