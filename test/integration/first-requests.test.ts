import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * A newcomer's first requests, the ones that are not a GraphQL POST yet:
 * each answer says what to send instead, with the right status, and CSRF
 * prevention stays on (nothing runs). Outside production GET /graphiql
 * serves an explorer from node_modules, with no asset from the internet.
 */
interface Answer {
  status: number;
  type: string | null;
  message: string;
  code: unknown;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let message = text;
  let code: unknown;
  try {
    const body = JSON.parse(text) as {
      errors?: { message: string; extensions?: { code?: unknown } }[];
    };
    message = body.errors?.[0]?.message ?? text;
    code = body.errors?.[0]?.extensions?.code;
  } catch {
    /* not JSON */
  }
  return { status: res.status, type: res.headers.get('content-type'), message, code };
}

const SAYS_WHAT_TO_SEND = /send a POST with the header Content-Type: application\/json/;

describe('first requests outside production', () => {
  let t: TestApp;
  let host: string;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'development', AUTH_REFRESH_COOKIE: 'true' });
    host = new URL(t.url).host;
  });
  afterAll(() => t?.close());

  it('`curl <url>/graphql` (a GET without a query): 400 with a curl line that works', async () => {
    const r = await call(`${t.url}/graphql`);
    expect(r.status).toBe(400);
    expect(r.code).toBe('BAD_REQUEST');
    expect(r.message).toMatch(SAYS_WHAT_TO_SEND);
    expect(r.message).toContain(`curl http://${host}/graphql -H 'content-type: application/json'`);
    expect(r.message).toContain('/graphiql');
    // The suggested command, sent as written, works.
    const json = /-d '([^']+)'/.exec(r.message)![1];
    const ok = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: json,
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('a browser opening the endpoint still gets the landing page', async () => {
    const res = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('a POST without Content-Type: 415, says JSON', async () => {
    const r = await call(`${t.url}/graphql`, {
      method: 'POST',
      body: '{"query":"{ __typename }"}',
    });
    // fetch adds text/plain for a string body; a body with no type at all:
    const bare = await new Promise<Answer>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request(`${t.url}/graphql`, { method: 'POST' }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => {
            const body = JSON.parse(text) as {
              errors: { message: string; extensions: { code: string } }[];
            };
            resolve({
              status: res.statusCode ?? 0,
              type: res.headers['content-type'] ?? null,
              message: body.errors[0].message,
              code: body.errors[0].extensions.code,
            });
          });
        });
        req.on('error', reject);
        req.end('{"query":"{ __typename }"}');
      }, reject);
    });
    expect(bare.status).toBe(415);
    expect(bare.code).toBe('BAD_REQUEST');
    expect(bare.message).toMatch(/no Content-Type/);
    expect(bare.message).toMatch(SAYS_WHAT_TO_SEND);
    // text/plain (what fetch sends for a string): refused by CSRF prevention, with what to send.
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/cross-site request forgery/);
    expect(r.message).toContain('Content-Type text/plain');
    expect(r.message).toContain('apollo-require-preflight');
    expect(r.message).toMatch(SAYS_WHAT_TO_SEND);
  });

  it('a form post (`curl -d`): 415, naming the type it got', async () => {
    const r = await call(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=%7B__typename%7D',
    });
    expect(r.status).toBe(415);
    expect(r.message).toContain('Content-Type application/x-www-form-urlencoded');
    expect(r.message).toMatch(SAYS_WHAT_TO_SEND);
  });

  it('CSRF prevention is still on: a simple mutation with the refresh cookie runs nothing', async () => {
    const reg = await t.gql(
      `mutation { register(input: { email: "csrf-first@example.com", password: "long enough password" }) { user { id } } }`,
    );
    const cookie = reg.setCookie[0].split(';')[0];
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', cookie },
      body: JSON.stringify({ query: 'mutation { logout(input: { allSessions: true }) }' }),
    });
    expect(res.status).toBe(400);
    const sessions = await t.db.prisma.session.count({
      where: { userId: reg.data.register.user.id, revokedAt: null },
    });
    expect(sessions).toBe(1);
  });

  it('GET /graphiql: an explorer whose scripts and styles all come from this server', async () => {
    const page = await fetch(`${t.url}/graphiql`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThanOrEqual(5);
    for (const ref of refs) {
      expect(ref.startsWith('/graphiql/assets/')).toBe(true);
      const asset = await fetch(`${t.url}${ref}`);
      expect(asset.status, ref).toBe(200);
      const body = await asset.text();
      expect(body.length, ref).toBeGreaterThan(100);
    }
    const graphiql = await (await fetch(`${t.url}/graphiql/assets/graphiql.min.js`)).text();
    expect(graphiql).toContain('createFetcher');
    // No path from the request reaches the file system.
    expect((await fetch(`${t.url}/graphiql/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${t.url}/graphiql/assets/package.json`)).status).toBe(404);
  });
});

describe('first requests in production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'production' });
  });
  afterAll(() => t?.close());

  it('a GET without a query says what to send (also to a browser: there is no landing page)', async () => {
    for (const accept of ['*/*', 'text/html']) {
      const r = await call(`${t.url}/graphql`, { headers: { accept } });
      expect(r.status).toBe(400);
      expect(r.message).toMatch(SAYS_WHAT_TO_SEND);
      expect(r.message).not.toContain('graphiql');
    }
  });

  it('no explorer', async () => {
    expect((await fetch(`${t.url}/graphiql`)).status).toBe(404);
    expect((await fetch(`${t.url}/graphiql/assets/graphiql.min.js`)).status).toBe(404);
  });
});
