import { Global, Module } from '@nestjs/common';
import { AuditRepository } from './audit.repository.js';
import { AuditResolver } from './audit.resolver.js';
import { AuditService } from './audit.service.js';

/**
 * The security log: every feature records its events through AuditRepository
 * (global); `securityEvents` and `auditEvents` list them.
 */
@Global()
@Module({
  providers: [AuditRepository, AuditService, AuditResolver],
  exports: [AuditRepository],
})
export class AuditModule {}
