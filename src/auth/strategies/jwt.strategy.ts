import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy, type SecretOrKeyProvider } from 'passport-jwt';
import { isUuid } from '../../common/rules.js';
import { AppConfig } from '../../config/app-config.js';
import { KeySet } from '../../keys/key-set.js';
import { SessionsRepository } from '../../sessions/sessions.repository.js';
import { toUser } from '../../users/user.model.js';
import { accessTokenRefused } from '../guards/access-token-refusal.js';
import type { Principal } from '../principal.js';
import { bearerToken } from '../refresh-cookie.js';
import { hasForeignKeyHeader, isAccessClaims, TokenService } from '../token.service.js';

/** Why a token was refused, for the strategy's fail(): never shown to the caller. */
class Refused extends Error {}

/**
 * How many verified tokens are remembered (VerifiedTokens). An entry is a
 * token string (~600 bytes) and its claims: about 10 MB at most.
 */
export const VERIFIED_TOKENS_MAX = 10_000;

/**
 * The claims of access tokens whose signature, algorithm, key, iss, aud and
 * nbf were checked already, by the exact token string, least recently used
 * out first. Why: an access token is presented again and again during its
 * life (ACCESS_TOKEN_TTL), and its signature check, a public-key operation
 * and the costliest CPU step of a guarded call (figures: docs/benchmark.md),
 * gives the same answer every time for the same string and the same keys.
 * What can change is checked on every call still: `exp` here, and the
 * session (revoked, expired, user disabled) in validate()'s query. The key
 * set only changes with a restart, so an entry never outlives the key that
 * signed it.
 */
class VerifiedTokens {
  private readonly map = new Map<string, { exp: number }>();

  get(token: string): { exp: number } | undefined {
    const claims = this.map.get(token);
    if (!claims) return undefined;
    if (claims.exp * 1000 <= Date.now()) {
      this.map.delete(token);
      return undefined;
    }
    // most recently used last
    this.map.delete(token);
    this.map.set(token, claims);
    return claims;
  }

  set(token: string, claims: { exp: number }): void {
    if (this.map.has(token)) return;
    if (this.map.size >= VERIFIED_TOKENS_MAX) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    this.map.set(token, claims);
  }
}

/**
 * The header of a compact JWS, or null. Read only to pick the key: the
 * signature check that follows covers the header too.
 */
function headerOf(token: string): Record<string, unknown> | null {
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  try {
    const h: unknown = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString());
    return typeof h === 'object' && h !== null && !Array.isArray(h)
      ? (h as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/**
 * Bearer access tokens, the NestJS way: passport-jwt (jsonwebtoken) checks
 * the signature, exp, nbf, iss and aud, with the algorithm pinned from
 * JWT_ALGORITHM and the key chosen by the token's `kid` among OUR
 * verification keys (KeySet, built once at start: KeyObjects, nothing parsed
 * per request). A token whose kid we do not have, whose alg is not ours, or
 * whose header names or carries a key (jku, jwk, x5u, x5c) or has crit is
 * refused before any signature check; nothing a token names is ever
 * fetched. validate() then checks the token's type and that its session is
 * still live (read when asked: SessionsRepository.findUserOfLiveSession), so a
 * logout or a revocation ends the token at once.
 *
 * Registered in passport's registry as 'jwt' (GqlAuthGuard = AuthGuard('jwt')).
 * That registry is per process: with two Nest apps in one process (tests),
 * the strategy of the app built last serves both apps' guards, so such tests
 * keep one key configuration and one database across the apps they run at
 * once (test/integration/keys-rotation.test.ts runs real processes instead).
 *
 * EdDSA: jsonwebtoken 9 has no EdDSA, so in that mode authenticate() checks
 * the token with jose (TokenService.verifyJwtOrWhy, the same pinned key
 * choice) and hands the payload to the same validate(), or jose's error to
 * passport's fail() (the guard says which fault it was).
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly eddsa: boolean;
  private readonly verified = new VerifiedTokens();

  constructor(
    config: AppConfig,
    keys: KeySet,
    private readonly tokens: TokenService,
    private readonly sessions: SessionsRepository,
  ) {
    const algorithm = keys.algorithm;
    const keyProvider: SecretOrKeyProvider<FastifyRequest> = (_req, rawJwtToken, done) => {
      const header = headerOf(String(rawJwtToken));
      const key =
        header && header.alg === algorithm && !hasForeignKeyHeader(header)
          ? keys.keyFor(header.kid)
          : undefined;
      if (key) done(null, key as unknown as string);
      else done(new Refused('no key of ours for this token'));
    };
    super({
      jwtFromRequest: (req: FastifyRequest) => bearerToken(req),
      // validate(req, payload): the request, to remember the verified token
      passReqToCallback: true,
      secretOrKeyProvider: keyProvider,
      // EdDSA tokens never reach jsonwebtoken (authenticate below).
      algorithms: algorithm === 'EdDSA' ? [] : [algorithm],
      issuer: config.env.JWT_ISSUER,
      audience: config.env.JWT_AUDIENCE,
      ignoreExpiration: false,
      // No clock tolerance: exp and nbf are taken as they are.
      jsonWebTokenOptions: { clockTolerance: 0 },
    });
    this.eddsa = algorithm === 'EdDSA';
  }

  authenticate(req: Parameters<Strategy['authenticate']>[0], options?: unknown): void {
    const request = req as unknown as FastifyRequest;
    const token = bearerToken(request);
    const known = token ? this.verified.get(token) : undefined;
    if (known) {
      this.validate(request, known).then(
        (principal) => this.success(principal),
        (e: unknown) => this.error(e as Error),
      );
      return;
    }
    if (!this.eddsa) return super.authenticate(req, options);
    if (!token) return this.fail(new Refused('no token'), 401);
    this.tokens.verifyJwtOrWhy(token).then(
      (r) =>
        r.error !== undefined
          ? // jose's error: the guard tells the caller which fault it was
            this.fail(r.error, 401)
          : this.validate(request, r.payload).then(
              (principal) => this.success(principal),
              (e: unknown) => this.error(e as Error),
            ),
      (e: unknown) => this.error(e as Error),
    );
  }

  /** Called with a payload whose signature and claims were checked (passport-jwt, jose, or VerifiedTokens). */
  async validate(req: FastifyRequest, payload: unknown): Promise<Principal> {
    if (!isAccessClaims(payload) || !isUuid(payload.sub) || !isUuid(payload.sid)) {
      throw accessTokenRefused('ACCESS_TOKEN_CLAIMS');
    }
    const token = bearerToken(req);
    if (token) this.verified.set(token, payload);
    const user = await this.sessions.findUserOfLiveSession(payload.sub, payload.sid);
    if (!user) throw accessTokenRefused('SESSION_ENDED');
    return { user: toUser(user), sessionId: payload.sid };
  }
}
