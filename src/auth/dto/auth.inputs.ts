import { Field, InputType } from '@nestjs/graphql';
import { IsBoolean, IsOptional, IsString, MaxLength } from 'class-validator';

// Shape limits only (so an absurd value is refused before any work); the
// rules (email format, password length in characters) live in AuthService.
const MAX_EMAIL = 320;
const MAX_PASSWORD = 4096;
const MAX_TOKEN = 512;

@InputType()
export class RegisterInput {
  @Field()
  @IsString()
  @MaxLength(MAX_EMAIL)
  email: string;

  @Field({ description: 'At least 8 characters; every character counts.' })
  @IsString()
  @MaxLength(MAX_PASSWORD)
  password: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(400)
  name?: string | null;
}

@InputType()
export class LoginInput {
  @Field()
  @IsString()
  @MaxLength(MAX_EMAIL)
  email: string;

  @Field()
  @IsString()
  @MaxLength(MAX_PASSWORD)
  password: string;
}

@InputType()
export class RefreshTokenInput {
  @Field(() => String, {
    nullable: true,
    description: 'Absent: the refresh-token cookie is used (cookie mode).',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_TOKEN)
  refreshToken?: string | null;
}

@InputType()
export class LogoutInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_TOKEN)
  refreshToken?: string | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false })
  @IsOptional()
  @IsBoolean()
  allSessions?: boolean | null;
}

@InputType()
export class ChangePasswordInput {
  @Field()
  @IsString()
  @MaxLength(MAX_PASSWORD)
  currentPassword: string;

  @Field()
  @IsString()
  @MaxLength(MAX_PASSWORD)
  newPassword: string;
}
