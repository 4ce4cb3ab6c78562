import type { User } from '../users/user.model.js';

/** Who is calling: set on the request by the JWT strategy after the session check. */
export interface Principal {
  user: User;
  sessionId: string;
}

/**
 * What the transport tells the services about the call: the client (stored
 * with a new session) and the id of the request, which the services' log
 * lines carry as `reqId`. Passed explicitly rather than through an
 * AsyncLocalStorage: on Node 20 one ALS context per request turns on promise
 * hooks for every promise of the process (~20 % of `me`'s req/s, measured).
 */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}
