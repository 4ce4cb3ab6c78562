import { ArgsType, Field, InputType } from '@nestjs/graphql';
import { IsMfaCode, IsOpaqueToken, IsTotpCode } from '../../common/validators.js';

const MFA_CODE =
  'A current 6-digit code of the authenticator, or an unused recovery code (20 hex digits, dashes optional).';

@ArgsType()
export class TotpCodeArgs {
  @Field({ description: 'A current 6-digit code of the authenticator.' })
  @IsTotpCode()
  code: string;
}

@ArgsType()
export class MfaCodeArgs {
  @Field({ description: MFA_CODE })
  @IsMfaCode()
  code: string;
}

@InputType()
export class VerifyMfaInput {
  @Field({ description: 'The extensions.mfaToken of login’s MFA_REQUIRED error (43 characters).' })
  @IsOpaqueToken()
  mfaToken: string;

  @Field({ description: MFA_CODE })
  @IsMfaCode()
  code: string;
}
