import { ArgsType, Field, ID, Int } from '@nestjs/graphql';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { PAGE_DEFAULT, PAGE_MAX, PAGE_MIN } from './rules.js';
import { IsId } from './validators.js';

/** `first` / `after` of every list: at most 100 items after the given id. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, {
    nullable: true,
    defaultValue: PAGE_DEFAULT,
    description: `How many, ${PAGE_MIN} to ${PAGE_MAX}.`,
  })
  @IsOptional()
  @IsInt()
  @Min(PAGE_MIN)
  @Max(PAGE_MAX)
  first?: number | null;

  @Field(() => ID, { nullable: true, description: 'The id of the last item of the previous page.' })
  @IsOptional()
  @IsId()
  after?: string | null;
}
