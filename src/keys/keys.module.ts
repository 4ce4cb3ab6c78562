import { Global, Module, type DynamicModule } from '@nestjs/common';
import { KeySet } from './key-set.js';
import { WellKnownController } from './well-known.controller.js';

/**
 * The signing key set (KeySet: the key that signs access tokens and every key
 * they may be verified with) and the documents that publish its public part.
 * Global: TokenService and the JWT strategy take the KeySet.
 */
@Global()
@Module({})
export class KeysModule {
  /**
   * `keys` is loaded before the app is built (createApp: loadKeySet), so that
   * a development key file that holds no usable key stops the start with a
   * plain message naming the file, like a bad variable does.
   */
  static forRoot(keys: KeySet): DynamicModule {
    return {
      module: KeysModule,
      providers: [{ provide: KeySet, useValue: keys }],
      controllers: [WellKnownController],
      exports: [KeySet],
    };
  }
}
