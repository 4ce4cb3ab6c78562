import { ArgsType, Field, ID } from '@nestjs/graphql';
import { IsBoolean, IsEnum } from 'class-validator';
import { IsEmailAttempt, IsId } from '../common/validators.js';
import { Role } from '../generated/prisma/enums.js';

@ArgsType()
export class SetUserRoleArgs {
  @Field(() => ID)
  @IsId()
  userId: string;

  @Field(() => Role)
  @IsEnum(Role)
  role: Role;
}

@ArgsType()
export class SetUserDisabledArgs {
  @Field(() => ID)
  @IsId()
  userId: string;

  @Field({ description: 'true: every session ends and no login works; false: logins work again.' })
  @IsBoolean()
  disabled: boolean;
}

@ArgsType()
export class UserByEmailArgs {
  @Field({ description: 'Any letter case; trimmed.' })
  @IsEmailAttempt()
  email: string;
}
