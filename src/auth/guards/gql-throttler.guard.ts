import {
  Inject,
  Injectable,
  Logger,
  Optional,
  SetMetadata,
  type ExecutionContext,
} from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import {
  normalizeIp,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerOptions,
  type ThrottlerRequest,
} from '@nestjs/throttler';
import { AppError, withoutStack } from '../../common/errors.js';
import { normaliseEmail } from '../../common/rules.js';
import type { AppConfig } from '../../config/app-config.js';
import type { GqlContext } from '../../graphql/context.js';
import { LoginAttemptStore } from '../../lockout/login-attempts.js';
import { RefreshTokenTransport } from '../refresh-cookie.js';

/**
 * The key of a client address in every per-IP limit: an IPv4 address as it
 * is (an IPv4-mapped IPv6 one as IPv4), an IPv6 address by its /64 network
 * (AUTH_RATE_LIMIT_IPV6_PREFIX): one subscriber usually holds a whole /64,
 * so counting single IPv6 addresses would give an attacker 2^64 buckets.
 * (@nestjs/throttler's own normalizeIp, which its default tracker uses too.)
 */
export function ipKey(ip: string | null | undefined, ipv6Prefix = 64): string {
  return ip ? normalizeIp(ip, ipv6Prefix) : 'unknown';
}

/**
 * Which limits apply to an operation guarded by GqlThrottlerGuard:
 * - `auth` (the default): AUTH_RATE_LIMIT calls per client address per
 *   AUTH_RATE_LIMIT_WINDOW, each operation counted apart (login, register,
 *   refreshToken, requestPasswordReset, ...);
 * - `password-change`: AUTH_PASSWORD_CHANGE_LIMIT calls per user and
 *   AUTH_PASSWORD_CHANGE_IP_LIMIT per client address per
 *   AUTH_PASSWORD_CHANGE_WINDOW (each call costs up to two bcrypt hashes,
 *   and aliases let one request make 30 calls). Needs GqlAuthGuard before it.
 */
export type LimitGroup = 'auth' | 'password-change';
const LIMIT_GROUP = 'auth-api:limit-group';
export const LimitedAs = (group: LimitGroup) => SetMetadata(LIMIT_GROUP, group);

function groupOf(context: ExecutionContext): LimitGroup {
  return (Reflect.getMetadata(LIMIT_GROUP, context.getHandler()) as LimitGroup) ?? 'auth';
}

/** What each named throttler counts (the `extensions.limit` of its refusal). */
const SCOPE: Record<string, 'ip' | 'user'> = {
  auth: 'ip',
  'password-change-ip': 'ip',
  'password-change-user': 'user',
};

/** The throttlers of ThrottlerModule (app.module.ts); each applies to one LimitGroup. */
export function throttlers(config: AppConfig): ThrottlerOptions[] {
  const env = config.env;
  const prefix = env.AUTH_RATE_LIMIT_IPV6_PREFIX;
  const byIp = (req: Record<string, any>) => ipKey((req as GqlContext['req']).ip, prefix);
  const only = (group: LimitGroup) => (context: ExecutionContext) => groupOf(context) !== group;
  return [
    {
      name: 'auth',
      ttl: env.AUTH_RATE_LIMIT_WINDOW,
      limit: env.AUTH_RATE_LIMIT,
      getTracker: byIp,
      skipIf: only('auth'),
    },
    {
      name: 'password-change-user',
      ttl: env.AUTH_PASSWORD_CHANGE_WINDOW,
      limit: env.AUTH_PASSWORD_CHANGE_LIMIT,
      getTracker: (req) => {
        const id = (req as GqlContext['req']).user?.user.id;
        // GqlAuthGuard runs first; without a principal there is nothing to count.
        if (!id) throw AppError.unauthenticated();
        return `user:${id}`;
      },
      skipIf: only('password-change'),
    },
    {
      name: 'password-change-ip',
      ttl: env.AUTH_PASSWORD_CHANGE_WINDOW,
      limit: env.AUTH_PASSWORD_CHANGE_IP_LIMIT,
      getTracker: byIp,
      skipIf: only('password-change'),
    },
  ];
}

/** Thrown inside the library's handleRequest, turned into the API's error with the throttler's name. */
class Throttled extends Error {
  constructor(readonly detail: ThrottlerLimitDetail) {
    super('throttled');
  }
}

/** How many limited keys' blocks are remembered for the log (least recently limited out first). */
const LOGGED_BLOCKS_MAX = 10_000;

/**
 * @nestjs/throttler on GraphQL: a guard runs once per resolver call, so every
 * alias and every operation of a batch is counted. A refusal is
 * TOO_MANY_REQUESTS with `extensions.limit` (`ip` or `user`: who is
 * limited), `retryAfter` (seconds until the same call is let through: the
 * block ends and the count starts again) and a message saying both; the
 * exception filter sends the standard `Retry-After` header with it (the
 * library's own `Retry-After-<name>` and `X-RateLimit-*` headers are off).
 */
@Injectable()
export class GqlThrottlerGuard extends ThrottlerGuard {
  private readonly authLogger = new Logger('Auth');
  /** Limited keys whose block was logged, with the block's end (ms), least recently limited first. */
  private readonly loggedBlocks = new Map<string, number>();

  getRequestResponse(context: ExecutionContext) {
    const ctx = GqlExecutionContext.create(context).getContext<GqlContext>();
    return { req: ctx.req, res: ctx.res };
  }

  // Property injection (the constructor is ThrottlerGuard's). Only `login` reads them, and
  // AuthModule, where AuthResolver is, provides both; the guard's other modules need not.
  @Optional() @Inject(RefreshTokenTransport) private readonly transport?: RefreshTokenTransport;
  @Optional() @Inject(LoginAttemptStore) private readonly attempts?: LoginAttemptStore;

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    try {
      return await super.handleRequest(props);
    } catch (e) {
      if (!(e instanceof Throttled)) throw e;
      throw this.refusal(props, e.detail, await this.accountLock(props));
    }
  }

  /**
   * A login refused by the per-address limit while its account is locked
   * too (failed logins) cannot succeed before both end: the seconds the
   * account's lock has left, or 0. A login with a device token is not held
   * by the account's lock (CredentialsService), so it adds nothing.
   */
  private async accountLock(props: ThrottlerRequest): Promise<number> {
    if (props.context.getHandler().name !== 'login' || !this.transport || !this.attempts) return 0;
    const gql = GqlExecutionContext.create(props.context);
    const input = gql.getArgs<{ input?: { email?: unknown; deviceToken?: unknown } }>().input;
    if (typeof input?.email !== 'string') return 0;
    const { req } = this.getRequestResponse(props.context);
    const device = typeof input.deviceToken === 'string' ? input.deviceToken : null;
    if (this.transport.readDevice(req, device)) return 0;
    return this.attempts.lockedFor(normaliseEmail(input.email));
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw withoutStack(() => new Throttled(detail));
  }

  /**
   * True for the first refusal of a key (one client or user, one operation,
   * one limit) in its block: the `rate_limited` line is written once per
   * block, not once per refused call. A client that ignores Retry-After
   * would otherwise write a warning per call, thousands a second in a flood,
   * each costing more to log than the refusal itself. Per instance; the
   * block's end is the throttler's own.
   */
  private firstRefusalOfBlock(key: string, blockedSeconds: number): boolean {
    const now = Date.now();
    const until = this.loggedBlocks.get(key);
    if (until !== undefined && until > now) return false;
    this.loggedBlocks.delete(key);
    if (this.loggedBlocks.size >= LOGGED_BLOCKS_MAX) {
      const oldest = this.loggedBlocks.keys().next().value;
      if (oldest !== undefined) this.loggedBlocks.delete(oldest);
    }
    this.loggedBlocks.set(key, now + blockedSeconds * 1000);
    return true;
  }

  private refusal(
    props: ThrottlerRequest,
    detail: ThrottlerLimitDetail,
    accountLock = 0,
  ): AppError {
    const { req } = this.getRequestResponse(props.context);
    const operation = props.context.getHandler().name;
    const scope = SCOPE[props.throttler.name ?? ''] ?? 'ip';
    const blocked = Math.max(1, Math.ceil(detail.timeToBlockExpire));
    const retryAfter = Math.max(blocked, accountLock);
    if (this.firstRefusalOfBlock(detail.key, blocked)) {
      this.authLogger.warn({
        reqId: req.id,
        event: 'rate_limited',
        operation,
        limit: scope,
        ip: req.ip,
        retryAfterSeconds: retryAfter,
      });
    }
    const who = scope === 'user' ? 'for this account' : 'from this address';
    const limit = `Too many ${operation} calls ${who} (at most ${props.limit} per ${Math.round(props.ttl / 1000)} s)`;
    if (accountLock > blocked) {
      // the account's lock ends last: it is what the caller waits for
      return AppError.tooManyRequests(
        retryAfter,
        'account',
        `Too many failed logins for this account, and ${limit.charAt(0).toLowerCase()}${limit.slice(1)}: try again in ${retryAfter} s`,
      );
    }
    return AppError.tooManyRequests(retryAfter, scope, `${limit}: try again in ${retryAfter} s`);
  }
}
