import { ArgsType, Field, ID } from '@nestjs/graphql';
import { IsEnum, IsOptional } from 'class-validator';
import { PageArgs } from '../common/page.args.js';
import { IsId } from '../common/validators.js';
import { SecurityEventType } from '../generated/prisma/enums.js';

/** `auditEvents`: a page of everyone's events, optionally of one user and/or one type. */
@ArgsType()
export class AuditEventsArgs extends PageArgs {
  @Field(() => ID, { nullable: true, description: 'Only the events of this user.' })
  @IsOptional()
  @IsId()
  userId?: string | null;

  @Field(() => SecurityEventType, { nullable: true, description: 'Only events of this type.' })
  @IsOptional()
  @IsEnum(SecurityEventType)
  type?: SecurityEventType | null;
}
