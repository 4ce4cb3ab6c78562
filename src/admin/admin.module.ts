import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AdminRepository } from './admin.repository.js';
import { AdminResolver } from './admin.resolver.js';
import { AdminService } from './admin.service.js';

/**
 * setUserRole, setUserDisabled. Does not import AuthModule (AuthModule
 * imports what this one does): GqlAuthGuard finds its strategy by itself.
 */
@Module({
  imports: [UsersModule, SessionsModule],
  providers: [AdminRepository, AdminService, AdminResolver],
})
export class AdminModule {}
