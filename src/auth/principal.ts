import type { User } from '../users/user.model.js';

/** Who is calling: set on the request by the JWT strategy after the session check. */
export interface Principal {
  user: User;
  sessionId: string;
}

/** What the transport tells the services about the client. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}
