import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { email, REGISTER } from './support.js';

const PASSWORD = 'correct horse battery';

async function post(t: TestApp, body: string, headers: Record<string, string> = {}) {
  const started = Date.now();
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, json: safeJson(text), ms: Date.now() - started, res };
}

function safeJson(s: string): any {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** Whether a register call ran to its end: the account is in the database. */
async function userExists(t: TestApp, mail: string): Promise<boolean> {
  return (await t.db.prisma.user.count({ where: { email: mail } })) === 1;
}

describe('GraphQL document limits (graphql-armor + parser token limit)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      GRAPHQL_MAX_DEPTH: '6',
      GRAPHQL_MAX_ALIASES: '30',
      GRAPHQL_MAX_TOKENS: '1000',
      GRAPHQL_MAX_COST: '5000',
    });
  });
  afterAll(() => t?.close());

  it('a normal login document passes', async () => {
    const mail = email('ok');
    const r = await t.gql(REGISTER, { i: { email: mail, password: PASSWORD } });
    expect(r.errors).toBeUndefined();
    // Control for the checks below: a register that ran is seen.
    expect(await userExists(t, mail)).toBe(true);
  });

  it('31 aliased register calls are refused before any resolver runs', async () => {
    const mails = Array.from({ length: 31 }, (_, i) => email(`alias${i}`));
    const doc = `mutation { ${mails
      .map(
        (m, i) =>
          `a${i}: register(input: {email: "${m}", password: "${PASSWORD}"}) { accessToken }`,
      )
      .join('\n')} }`;
    const r = await t.gql(doc);
    expect(r.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.data).toBeFalsy();
    // No resolver ran: none of the accounts exists.
    expect(await userExists(t, mails[0])).toBe(false);
    expect(await userExists(t, mails[30])).toBe(false);
  });

  it('30 aliases are still allowed (the limit, not a ban on aliases)', async () => {
    const doc = `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const r = await t.gql(doc);
    expect(r.errors).toBeUndefined();
  });

  it('a too deep document is refused before any resolver runs', async () => {
    const t2 = await startTestApp({ GRAPHQL_MAX_DEPTH: '2' });
    try {
      const mail = email('deep');
      // mutation > register > user > id: depth 3.
      const r = await t2.gql(
        `mutation($i: RegisterInput!) { register(input: $i) { user { id } } }`,
        { i: { email: mail, password: PASSWORD } },
      );
      expect(r.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(r.errors?.[0].message).toMatch(/depth/i);
      expect(await userExists(t2, mail)).toBe(false);
      // The same depth through a fragment is counted too.
      const viaFragment = await t2.gql(
        `mutation($i: RegisterInput!) { ...M }
         fragment M on Mutation { register(input: $i) { ...P } }
         fragment P on AuthPayload { user { id } }`,
        { i: { email: mail, password: PASSWORD } },
      );
      expect(viaFragment.code).toBe('GRAPHQL_VALIDATION_FAILED');
    } finally {
      await t2.close();
    }
  });

  it('a document with more tokens than the limit is refused quickly', async () => {
    const doc = `{ ${Array.from({ length: 1200 }, () => '__typename').join(' ')} }`;
    const started = Date.now();
    const r = await t.gql(doc);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(r.errors?.[0].message).toMatch(/tokens/i);
  });

  it('a too costly document is refused', async () => {
    const t2 = await startTestApp({ GRAPHQL_MAX_COST: '30' });
    try {
      const fields = 'id email name role createdAt updatedAt';
      // Each `me` costs 2 + 6 * 1.5 = 11: two pass, three do not.
      const ok = await t2.gql(`{ a: me { ${fields} } b: me { ${fields} } }`);
      expect(ok.code).toBe('UNAUTHENTICATED');
      const r = await t2.gql(`{ a: me { ${fields} } b: me { ${fields} } c: me { ${fields} } }`);
      expect(r.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(r.errors?.[0].message).toMatch(/cost/i);
    } finally {
      await t2.close();
    }
  });

  it('too many directives are refused', async () => {
    const doc = `{ __typename ${'@skip(if: false) '.repeat(11)} }`;
    const r = await t.gql(doc);
    expect(r.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('HTTP limits: batching, body size', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('array batching is refused and runs nothing', async () => {
    const a = email('batch-a');
    const b = email('batch-b');
    const r = await post(
      t,
      JSON.stringify([
        { query: REGISTER, variables: { i: { email: a, password: PASSWORD } } },
        { query: REGISTER, variables: { i: { email: b, password: PASSWORD } } },
      ]),
    );
    expect(r.status).toBe(400);
    expect(await userExists(t, a)).toBe(false);
    expect(await userExists(t, b)).toBe(false);
  });

  it('a 1 MB password is refused quickly with a clean 413 (not a 500)', async () => {
    const r = await post(
      t,
      JSON.stringify({
        query: REGISTER,
        variables: { i: { email: email('big'), password: 'x'.repeat(1_000_000) } },
      }),
    );
    expect(r.status).toBe(413);
    expect(r.ms).toBeLessThan(5_000);
    expect(r.text).not.toMatch(/at .*\.js|stack/i);
    expect(r.json?.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('a 100 KB query is refused quickly with a clean error', async () => {
    const r = await post(t, JSON.stringify({ query: `{ __typename ${' '.repeat(100_000)} }` }));
    expect(r.status).toBe(413);
    expect(r.ms).toBeLessThan(5_000);
    expect(r.json?.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('below the body limit, an absurd password is BAD_USER_INPUT, not a 500', async () => {
    const t2 = await startTestApp({ BODY_LIMIT: '2000000' });
    try {
      const r = await t2.gql(REGISTER, {
        i: { email: email('big2'), password: 'x'.repeat(1_000_000) },
      });
      expect(r.code).toBe('BAD_USER_INPUT');
    } finally {
      await t2.close();
    }
  });
});

describe('production mode: nothing given away', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'production' });
  });
  afterAll(() => t?.close());

  it('introspection is off', async () => {
    const r = await t.gql(`{ __schema { queryType { name } } }`);
    expect(r.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.data).toBeFalsy();
  });

  it('no landing page on GET /graphql', async () => {
    const res = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.headers.get('content-type') ?? '').not.toMatch(/html/);
    expect(await res.text()).not.toMatch(/<html|sandbox|embed/i);
  });

  it('no "Did you mean" suggestions', async () => {
    const r = await t.gql(`{ mee { id } }`);
    expect(r.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(r.body)).not.toMatch(/did you mean/i);
    expect(JSON.stringify(r.body)).not.toContain('"me"');
  });

  it('errors carry no originalError or stacktrace', async () => {
    const r = await t.gql(`{ me { id } }`, {}, { token: 'not.a.jwt' });
    expect(r.code).toBe('UNAUTHENTICATED');
    const text = JSON.stringify(r.body);
    expect(text).not.toMatch(/originalError|stacktrace|exception/i);
  });

  it('no X-Powered-By or version banner', async () => {
    const r = await t.gql(`{ __typename }`);
    expect(r.headers.get('x-powered-by')).toBeNull();
    expect(r.headers.get('server')).toBeNull();
  });
});

describe('outside production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'development' });
  });
  afterAll(() => t?.close());

  it('GET /graphql with Accept: text/html serves the Apollo Sandbox landing page', async () => {
    const res = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toMatch(/embeddable-sandbox|sandbox/i);
  });

  it('the introspection query of Apollo Studio passes the default limits', async () => {
    const r = await t.gql(
      getIntrospectionQuery({
        descriptions: true,
        specifiedByUrl: true,
        directiveIsRepeatable: true,
        schemaDescription: true,
        inputValueDeprecation: true,
      }),
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.__schema.queryType.name).toBe('Query');
  });

  it('suggestions help developers', async () => {
    const r = await t.gql(`{ mee { id } }`);
    expect(JSON.stringify(r.body)).toMatch(/did you mean/i);
  });
});

describe('CSRF prevention (cookie mode)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_REFRESH_COOKIE: 'true' });
  });
  afterAll(() => t?.close());

  it('a text/plain POST changes nothing and sets no cookie', async () => {
    const mail = email('csrf');
    const r = await post(
      t,
      JSON.stringify({ query: REGISTER, variables: { i: { email: mail, password: PASSWORD } } }),
      { 'content-type': 'text/plain' },
    );
    expect(r.status).toBe(400);
    expect(r.res.headers.getSetCookie()).toEqual([]);
    expect(await userExists(t, mail)).toBe(false);
  });

  it('a form POST changes nothing and sets no cookie', async () => {
    const mail = email('csrf-form');
    const form = new URLSearchParams({
      query: `mutation { register(input: {email: "${mail}", password: "${PASSWORD}"}) { accessToken } }`,
    });
    const r = await post(t, form.toString(), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(r.status).toBe(415);
    expect(r.res.headers.getSetCookie()).toEqual([]);
    expect(await userExists(t, mail)).toBe(false);
  });

  it('a GET mutation is refused', async () => {
    const mail = email('csrf-get');
    const q = `mutation { register(input: {email: "${mail}", password: "${PASSWORD}"}) { accessToken } }`;
    const res = await fetch(`${t.url}/graphql?query=${encodeURIComponent(q)}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(405);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await userExists(t, mail)).toBe(false);
  });
});
