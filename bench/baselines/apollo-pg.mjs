// Baselines (b) and (c): the API's `me` and `refreshToken` without Nest,
// passport or Prisma. Apollo Server 5 standalone (node:http), the same JWT
// check (jsonwebtoken; with JWT_PRIVATE_KEY, as the bench runs it, ES256
// pinned with the key chosen by the header's kid, as the API's strategy
// does; else HS256 with JWT_ACCESS_SECRET; iss/aud/exp, typ=access), the same
// session/user test as ONE SQL query through `pg`, and the same rotation
// (find by token_hash, then one transaction: compare-and-swap rotated_at,
// insert the child, slide the session) with the same token derivation.
// It shows what the framework layers cost on this machine.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { GraphQLError } from 'graphql';
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  hkdfSync,
  randomUUID,
} from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import jwt from 'jsonwebtoken';
import pg from 'pg';

const env = process.env;
const secret = env.JWT_ACCESS_SECRET;
// A KeyObject, not the string: given a string, jsonwebtoken 9 first tries
// createPublicKey/createPrivateKey on it (a PEM parse that throws) on EVERY
// verify/sign, which was a third of the API's CPU under `me` load.
const jwtKey = createSecretKey(Buffer.from(secret));
// The API's signing key (JWT_PRIVATE_KEY): ES256 with a kid, as the API signs
// and verifies by default; HS256 with the secret otherwise.
const ALG = env.JWT_PRIVATE_KEY ? 'ES256' : 'HS256';
const signKey = env.JWT_PRIVATE_KEY
  ? createPrivateKey(env.JWT_PRIVATE_KEY.replace(/\\n/g, '\n'))
  : jwtKey;
const KID = env.JWT_PRIVATE_KEY
  ? await calculateJwkThumbprint(createPublicKey(signKey).export({ format: 'jwk' }), 'sha256')
  : undefined;
/** kid -> verification key, built once (the API's KeySet). */
const verifyKeys = new Map(KID ? [[KID, createPublicKey(signKey)]] : []);
function keyFor(token) {
  if (ALG === 'HS256') return jwtKey;
  const dot = token.indexOf('.');
  try {
    return verifyKeys.get(JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString()).kid);
  } catch {
    return undefined;
  }
}
const ISS = 'auth-api';
const AUD = 'auth-api';
const ACCESS_TTL_S = 900;
const REFRESH_TTL_MS = 7 * 86_400_000;
const rotationKey = Buffer.from(
  hkdfSync('sha256', secret, 'auth-api', 'refresh-token-rotation/v1', 32),
);
const pool = new pg.Pool({
  connectionString: env.DATABASE_URL,
  max: Number(env.DATABASE_POOL_SIZE ?? 10),
});

const typeDefs = `#graphql
  scalar DateTime
  enum Role { USER ADMIN }
  type User { id: ID! email: String! name: String role: Role! createdAt: DateTime! updatedAt: DateTime! }
  type AuthPayload {
    accessToken: String! accessTokenExpiresAt: DateTime!
    refreshToken: String refreshTokenExpiresAt: DateTime! user: User!
  }
  input RefreshTokenInput { refreshToken: String }
  type Query { me: User! }
  type Mutation { refreshToken(input: RefreshTokenInput): AuthPayload! }
`;

const unauthenticated = (m) => new GraphQLError(m, { extensions: { code: 'UNAUTHENTICATED' } });
const USER_COLS = 'u.id, u.email, u.name, u.role, u.created_at, u.updated_at';
const toUser = (r) => ({
  id: r.id,
  email: r.email,
  name: r.name,
  role: r.role,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});
const sha256 = (s) => createHash('sha256').update(s).digest('hex');

function signAccess(userId, sessionId) {
  const token = jwt.sign({ sid: sessionId, typ: 'access' }, signKey, {
    subject: userId,
    expiresIn: ACCESS_TTL_S,
    algorithm: ALG,
    ...(KID ? { keyid: KID } : {}),
    issuer: ISS,
    audience: AUD,
  });
  return { token, expiresAt: new Date(jwt.decode(token).exp * 1000) };
}

const resolvers = {
  Query: {
    async me(_p, _a, ctx) {
      const h = ctx.authorization;
      if (!h || !h.startsWith('Bearer ')) throw unauthenticated('Missing access token');
      let c;
      try {
        const token = h.slice(7);
        const key = keyFor(token);
        if (!key) throw new Error('no such key');
        c = jwt.verify(token, key, { algorithms: [ALG], issuer: ISS, audience: AUD });
      } catch {
        throw unauthenticated('Invalid access token');
      }
      if (c.typ !== 'access' || typeof c.sub !== 'string' || typeof c.sid !== 'string') {
        throw unauthenticated('Invalid access token');
      }
      const { rows } = await pool.query({
        name: 'me',
        text: `SELECT ${USER_COLS} FROM users u JOIN sessions s ON s.user_id = u.id
               WHERE s.id = $1 AND u.id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()`,
        values: [c.sid, c.sub],
      });
      if (!rows[0]) throw unauthenticated('Session has ended');
      return toUser(rows[0]);
    },
  },
  Mutation: {
    async refreshToken(_p, { input }) {
      const token = input?.refreshToken;
      if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token))
        throw unauthenticated('Invalid refresh token');
      const found = await pool.query({
        name: 'find_rt',
        text: `SELECT rt.id, rt.session_id, rt.expires_at, rt.rotated_at, s.user_id,
                      s.revoked_at AS s_revoked_at, s.expires_at AS s_expires_at
               FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id WHERE rt.token_hash = $1`,
        values: [sha256(token)],
      });
      const row = found.rows[0];
      const now = new Date();
      if (
        !row ||
        row.s_revoked_at ||
        row.expires_at <= now ||
        row.s_expires_at <= now ||
        row.rotated_at
      ) {
        throw unauthenticated('Invalid refresh token');
      }
      const child = createHmac('sha256', rotationKey).update(token).digest('base64url');
      const childId = randomUUID();
      const expiresAt = new Date(now.getTime() + REFRESH_TTL_MS);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const swap = await client.query({
          name: 'cas',
          text: `UPDATE refresh_tokens SET rotated_at = $2, replaced_by_id = $3
                 WHERE id = $1 AND rotated_at IS NULL AND expires_at > $2
                   AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL)`,
          values: [row.id, now, childId],
        });
        if (swap.rowCount !== 1) {
          await client.query('ROLLBACK');
          throw unauthenticated('Invalid refresh token');
        }
        await client.query({
          name: 'ins_rt',
          text: `INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)`,
          values: [childId, row.session_id, sha256(child), expiresAt],
        });
        await client.query({
          name: 'slide',
          text: `UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1`,
          values: [row.session_id, now, expiresAt],
        });
        await client.query('COMMIT');
      } catch (e) {
        if (!(e instanceof GraphQLError)) await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
      const u = await pool.query({
        name: 'user_by_id',
        text: `SELECT ${USER_COLS} FROM users u WHERE u.id = $1`,
        values: [row.user_id],
      });
      const access = signAccess(row.user_id, row.session_id);
      return {
        accessToken: access.token,
        accessTokenExpiresAt: access.expiresAt.toISOString(),
        refreshToken: child,
        refreshTokenExpiresAt: expiresAt.toISOString(),
        user: toUser(u.rows[0]),
      };
    },
  },
};

const server = new ApolloServer({
  typeDefs,
  resolvers,
  introspection: false,
  csrfPrevention: true,
  includeStacktraceInErrorResponses: false,
});
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(env.PORT), host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`baseline listening on ${url}`);
process.on('SIGTERM', async () => {
  await server.stop();
  await pool.end();
  process.exit(0);
});
