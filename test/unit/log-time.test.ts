import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/logging/logger.js';

const expected = (t: number) => `,"time":"${new Date(t).toISOString()}"`;

/** The log lines' timestamp is formatted once a second; it must read exactly as toISOString. */
describe('isoTime', () => {
  it('matches toISOString within a second, across seconds, and when the clock goes back', () => {
    const base = Date.UTC(2026, 10, 22, 23, 59, 58, 990);
    const times = [
      base,
      base + 5, // same second
      base + 9, // 999 ms
      base + 10, // next second, 000 ms
      base + 109,
      base + 1010, // next minute
      base + 2_000, // next day (00:00:00.990)
      base - 86_400_000, // the clock went back a day
      base - 86_400_000 + 1,
      Date.UTC(2024, 1, 29, 12, 0, 0, 7), // a leap day
      Date.UTC(1999, 11, 31, 23, 59, 59, 999),
      0,
    ];
    for (const t of times) expect(isoTime(t), String(t)).toBe(expected(t));
  });

  it('matches toISOString for many random instants, in any order', () => {
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    let t = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 5000; i++) {
      // Mostly small steps (the same second), sometimes a jump either way.
      t += i % 50 === 0 ? (next() % 10_000_000) - 5_000_000 : next() % 300;
      expect(isoTime(t)).toBe(expected(t));
    }
  });

  it('defaults to now', () => {
    const before = Date.now();
    const got = isoTime();
    const after = Date.now();
    const at = Date.parse(got.slice(9, -1));
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
  });
});
