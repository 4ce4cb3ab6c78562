import { Module } from '@nestjs/common';
import { DeviceTokenService } from './device-token.service.js';

/** Device tokens: telling a returning device from a flood of guesses (device-token.service.ts). */
@Module({
  providers: [DeviceTokenService],
  exports: [DeviceTokenService],
})
export class DevicesModule {}
