import { Global, Module } from '@nestjs/common';
import { AuditRepository } from './audit.repository.js';

/** The security log: every feature records its events through AuditRepository. */
@Global()
@Module({
  providers: [AuditRepository],
  exports: [AuditRepository],
})
export class AuditModule {}
