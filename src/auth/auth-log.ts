import type { Logger } from '@nestjs/common';
import type { ClientInfo } from '../graphql/client-info.decorator.js';

/**
 * An auth event as a log line (`{"event": "login", "reqId": …, "ip": …}`),
 * beside the row the security log keeps. Never a password, token or code.
 */
export function logAuthEvent(
  logger: Logger,
  level: 'log' | 'warn',
  client: ClientInfo | null | undefined,
  fields: { event: string } & Record<string, unknown>,
): void {
  logger[level](
    client
      ? { reqId: client.requestId ?? undefined, ip: client.ip ?? undefined, ...fields }
      : fields,
  );
}
