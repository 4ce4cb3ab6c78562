import { Field, ObjectType } from '@nestjs/graphql';

/** A started enrolment: what an authenticator app needs. Shown once; confirm with confirmTotp. */
@ObjectType()
export class TotpEnrollment {
  @Field({ description: 'The secret in base32, for typing into an authenticator by hand.' })
  secret: string;

  @Field({ description: 'otpauth://totp/... (what a QR code shows): SHA-1, 6 digits, 30 s.' })
  otpauthUri: string;
}
