import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SessionsRepository } from '../../src/sessions/sessions.repository.js';
import { LogoutDocument, MeDocument } from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { op, register, sessionIdOf } from './helpers.js';

/**
 * Every guarded call checks that its session is live; the checks asked in
 * one turn of the event loop share one statement (SessionsRepository). What a
 * caller sees must not change: its own user, or SESSION_ENDED at once.
 */
describe('session checks asked together', () => {
  let t: TestApp;
  let users: Awaited<ReturnType<typeof register>>[];
  beforeAll(async () => {
    t = await startTestApp();
    users = [];
    for (let i = 0; i < 5; i++) users.push(await register(t));
  });
  afterAll(() => t?.close());

  it('are answered by one statement, each with its own user; an ended session, or a session paired with another user, gets none', async () => {
    const sessions = t.app.get(SessionsRepository);
    const [a, b, c, ended] = users;
    await op(t, LogoutDocument, {}, { token: ended.accessToken });
    const spy = vi.spyOn(
      sessions as unknown as { usersOfLiveSessions: (...a: unknown[]) => unknown },
      'usersOfLiveSessions',
    );
    try {
      const check = (u: typeof a, sid = sessionIdOf(u.accessToken)) =>
        sessions.findUserOfLiveSession(u.user.id, sid);
      // Asked in the same turn, none awaited before the others are asked.
      const answers = await Promise.all([
        check(a),
        check(b),
        check(c),
        check(ended),
        // b's user id with a's session: a token can only name its own session.
        check(b, sessionIdOf(a.accessToken)),
        check(a),
      ]);
      expect(spy).toHaveBeenCalledTimes(1);
      expect((spy.mock.calls[0][0] as unknown[]).length).toBe(6);
      expect(answers.map((u) => u?.id ?? null)).toEqual([
        a.user.id,
        b.user.id,
        c.user.id,
        null,
        null,
        a.user.id,
      ]);
      expect(answers[0]).toMatchObject({ email: a.email });
      expect(answers[0]).not.toHaveProperty('passwordHash');
    } finally {
      spy.mockRestore();
    }
  });

  it('concurrent me calls of several users each get their own user; a logout ends its token for the very next call', async () => {
    const live = users.slice(0, 3);
    const me = (token: string) => op(t, MeDocument, {}, { token });
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(live.map((u) => me(u.accessToken)));
      expect(answers.map((r) => r.data?.me.id)).toEqual(live.map((u) => u.user.id));
    }
    const [first, ...rest] = live;
    await op(t, LogoutDocument, {}, { token: first.accessToken });
    const answers = await Promise.all(live.map((u) => me(u.accessToken)));
    expect(answers[0].data).toBeNull();
    expect(answers[0].errors?.[0].extensions?.reason).toBe('SESSION_ENDED');
    expect(answers.slice(1).map((r) => r.data?.me.id)).toEqual(rest.map((u) => u.user.id));
  });
});
