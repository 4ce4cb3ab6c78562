import { Field, InputType } from '@nestjs/graphql';
import { IsBoolean, IsOptional } from 'class-validator';
import {
  IsAccountEmail,
  IsDisplayName,
  IsEmailAttempt,
  IsNewPassword,
  IsPasswordAttempt,
  IsTokenAttempt,
} from '../../common/validators.js';

@InputType()
export class RegisterInput {
  @Field({ description: 'Trimmed and lower-cased; at most 254 characters (RFC 5321).' })
  @IsAccountEmail()
  email: string;

  @Field({ description: 'At least 8 characters, at most 1024; every character counts.' })
  @IsNewPassword()
  password: string;

  @Field(() => String, { nullable: true, description: 'At most 100 characters.' })
  @IsOptional()
  @IsDisplayName()
  name?: string | null;
}

@InputType()
export class LoginInput {
  @Field()
  @IsEmailAttempt()
  email: string;

  @Field()
  @IsPasswordAttempt()
  password: string;

  @Field(() => String, {
    nullable: true,
    description:
      'The deviceToken of an earlier AuthPayload for this account (cookie mode: the cookie is used). An unknown, expired or another account’s token is ignored.',
  })
  @IsOptional()
  @IsTokenAttempt()
  deviceToken?: string | null;
}

@InputType()
export class RefreshTokenInput {
  @Field(() => String, {
    nullable: true,
    description: 'Absent: the refresh-token cookie is used (cookie mode).',
  })
  @IsOptional()
  @IsTokenAttempt()
  refreshToken?: string | null;
}

@InputType()
export class LogoutInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsTokenAttempt()
  refreshToken?: string | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false })
  @IsOptional()
  @IsBoolean()
  allSessions?: boolean | null;
}

@InputType()
export class ChangePasswordInput {
  @Field()
  @IsPasswordAttempt()
  currentPassword: string;

  @Field({ description: 'The rules of register.' })
  @IsNewPassword()
  newPassword: string;
}
