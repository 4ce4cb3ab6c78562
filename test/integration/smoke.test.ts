import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

describe('smoke: register, me, refresh, logout', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('registers and answers me', async () => {
    const r = await t.gql(
      `mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { email role } } }`,
      { i: { email: ' Smoke@Example.COM ', password: 'correct horse battery' } },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.register.user).toEqual({ email: 'smoke@example.com', role: 'USER' });
    const me = await t.gql(`{ me { email } }`, {}, { token: r.data.register.accessToken });
    expect(me.data.me.email).toBe('smoke@example.com');
  });
});
