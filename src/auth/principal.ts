import type { User } from '../users/user.model.js';

/** Who is calling: set on the request by the JWT strategy after the session check. */
export interface Principal {
  user: User;
  sessionId: string;
}

export type { ClientInfo } from '../graphql/client-info.decorator.js';
