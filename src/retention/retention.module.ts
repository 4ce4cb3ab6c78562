import { Module } from '@nestjs/common';
import { RetentionService } from './retention.service.js';

/** Bounded growth: the scheduled deletion of what the API no longer needs. */
@Module({
  providers: [RetentionService],
  exports: [RetentionService],
})
export class RetentionModule {}
