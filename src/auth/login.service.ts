import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../common/errors.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { MfaChallenges } from '../mfa/mfa-challenges.js';
import { logAuthEvent } from './auth-log.js';
import { CredentialsService } from './credentials.service.js';
import { AMR_PASSWORD, SessionIssuer, type IssuedTokens } from './session-issuer.service.js';

/**
 * login: the password check, then a session at the version of the
 * credentials checked; for an account with a second factor, no session but
 * MFA_REQUIRED with the mfaToken of a new challenge (verifyMfa opens it).
 */
@Injectable()
export class LoginService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly credentials: CredentialsService,
    private readonly issuer: SessionIssuer,
    private readonly mfa: MfaChallenges,
  ) {}

  async login(
    input: { email: string; password: string; deviceToken?: string | null },
    client: ClientInfo,
  ): Promise<IssuedTokens> {
    const user = await this.credentials.verify(input.email, input.password, client, {
      deviceToken: input.deviceToken,
    });
    if (user.mfaEnabled) {
      const mfaToken = await this.mfa.start(user);
      logAuthEvent(this.logger, 'log', client, { event: 'mfa_required', userId: user.id });
      throw AppError.mfaRequired(mfaToken);
    }
    const issued = await this.issuer.open(
      user,
      { amr: AMR_PASSWORD, credentialsVersion: user.credentialsVersion },
      client,
    );
    logAuthEvent(this.logger, 'log', client, { event: 'login', userId: user.id });
    return issued;
  }
}
