import { Module } from '@nestjs/common';
import { SessionsRepository } from './sessions.repository.js';
import { SessionsResolver } from './sessions.resolver.js';
import { SessionsService } from './sessions.service.js';

@Module({
  providers: [SessionsRepository, SessionsService, SessionsResolver],
  exports: [SessionsRepository, SessionsService],
})
export class SessionsModule {}
