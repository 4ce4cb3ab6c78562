import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { register } from './helpers.js';

/**
 * GraphQL over HTTP GET (queries only): @nestjs/apollo's Fastify route hands
 * Apollo the query string; Apollo reads `query`, `operationName` and
 * `variables` from it.
 */
describe('GET /graphql reads the query string as Apollo does', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  async function get(params: Record<string, string>, token?: string) {
    const search = new URLSearchParams(params).toString();
    const res = await fetch(`${t.url}/graphql?${search}`, {
      headers: {
        'apollo-require-preflight': 'true',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  it('query, operationName and variables (with characters that need encoding)', async () => {
    const name = 'Zoë & Co + 100% ?#=';
    const a = await register(t, undefined, undefined, name);
    const query = `
      query Other { __typename }
      query Me($withName: Boolean!) { me { email name @include(if: $withName) } }`;
    const withName = await get(
      { query, operationName: 'Me', variables: JSON.stringify({ withName: true }) },
      a.accessToken,
    );
    expect(withName.status).toBe(200);
    expect(withName.body).toEqual({ data: { me: { email: a.email, name } } });
    const without = await get(
      { query, operationName: 'Me', variables: JSON.stringify({ withName: false }) },
      a.accessToken,
    );
    expect(without.body).toEqual({ data: { me: { email: a.email } } });
    const other = await get({ query, operationName: 'Other' });
    expect(other.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('a GET without a query, or a mutation over GET, is refused and changes nothing', async () => {
    const noQuery = await get({});
    expect(noQuery.status).toBe(400);
    const mutation = await get({
      query:
        'mutation { register(input: {email: "get@example.com", password: "long enough password"}) { accessToken } }',
    });
    expect(mutation.status).toBe(405);
    expect(await t.db.prisma.user.count({ where: { email: 'get@example.com' } })).toBe(0);
  });

  it('a POST whose URL has a query string is still a POST', async () => {
    const res = await fetch(`${t.url}/graphql?unused=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });
});
