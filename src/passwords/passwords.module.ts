import { Module } from '@nestjs/common';
import { PasswordService } from './password.service.js';

/** Password hashing (bcrypt over a pre-hash), for every feature that sets or checks one. */
@Module({
  providers: [PasswordService],
  exports: [PasswordService],
})
export class PasswordsModule {}
