import { ArgsType, Field, InputType } from '@nestjs/graphql';
import { IsAccountEmail, IsNewPassword, IsOpaqueToken } from '../../common/validators.js';

const TOKEN = 'The token of the link in the mail (43 characters).';

@ArgsType()
export class VerifyEmailArgs {
  @Field({ description: TOKEN })
  @IsOpaqueToken()
  token: string;
}

@ArgsType()
export class RequestPasswordResetArgs {
  @Field({ description: 'The account address; the answer is true whether or not it exists.' })
  @IsAccountEmail()
  email: string;
}

@InputType()
export class ResetPasswordInput {
  @Field({ description: TOKEN })
  @IsOpaqueToken()
  token: string;

  @Field({ description: 'The rules of register: 8 to 1024 characters, every one counts.' })
  @IsNewPassword()
  newPassword: string;
}
