import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../config/app-config.js';
import { KeySet } from './key-set.js';

export const JWKS_PATH = '/.well-known/jwks.json';
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

/** The claims every access token carries (docs/api.md, "Tokens and sessions"). */
const CLAIMS = ['iss', 'aud', 'sub', 'sid', 'typ', 'iat', 'exp', 'jti', 'amr', 'email_verified'];

/**
 * What other services need to verify our access tokens without any secret of
 * ours: the public keys (GET /.well-known/jwks.json) and a discovery document
 * naming the issuer and that URL (GET /.well-known/openid-configuration).
 * Both are built once at start and cached by clients for JWKS_MAX_AGE, the
 * delay docs/deploying.md's rotation waits for between publishing a key and
 * signing with it.
 */
@Controller('.well-known')
export class WellKnownController {
  private readonly jwks: string;
  private readonly discovery: string;
  private readonly cacheControl: string;

  constructor(config: AppConfig, keys: KeySet) {
    this.jwks = JSON.stringify(keys.jwks);
    const base = publicBaseUrl(config);
    this.discovery = JSON.stringify({
      issuer: config.env.JWT_ISSUER,
      jwks_uri: `${base}${JWKS_PATH}`,
      id_token_signing_alg_values_supported: [keys.algorithm],
      subject_types_supported: ['public'],
      claims_supported: CLAIMS,
    });
    const seconds = Math.floor(config.env.JWKS_MAX_AGE / 1000);
    this.cacheControl = seconds > 0 ? `public, max-age=${seconds}` : 'no-cache';
  }

  @Get('jwks.json')
  jwksDocument(@Res() reply: FastifyReply): void {
    this.send(reply, this.jwks);
  }

  @Get('openid-configuration')
  discoveryDocument(@Res() reply: FastifyReply): void {
    this.send(reply, this.discovery);
  }

  private send(reply: FastifyReply, body: string): void {
    void reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', this.cacheControl)
      .send(body);
  }
}

/** PUBLIC_URL without a trailing slash, else http://localhost:{PORT}. */
export function publicBaseUrl(config: AppConfig): string {
  return (config.env.PUBLIC_URL ?? `http://localhost:${config.env.PORT}`).replace(/\/+$/, '');
}
