import { describe, expect, it } from 'vitest';
import { AppConfig } from '../../src/config/app-config.js';
import { parseEnv } from '../../src/config/config.schema.js';
import { DeviceTokenService } from '../../src/devices/device-token.service.js';

const service = (env: Record<string, string> = {}, secret = 's'.repeat(40)) =>
  new DeviceTokenService(
    new AppConfig(parseEnv({ AUTH_DEVICE_TOKEN_TTL: '1h', ...env }), '/tmp', secret),
  );

describe('DeviceTokenService', () => {
  const s = service();
  const now = Date.UTC(2026, 11, 7);

  it('a token verifies for its email only, until it expires; each has its own key', () => {
    const t = s.issue('ada@example.com', now)!;
    const d = s.verify(t, 'ada@example.com', now + 1000);
    expect(d?.key).toMatch(/^device:[A-Za-z0-9_-]{22}$/);
    expect(s.verify(s.issue('ada@example.com', now), 'ada@example.com', now)?.key).not.toBe(d?.key);
    expect(s.verify(t, 'bob@example.com', now)).toBeNull();
    expect(s.verify(t, 'ada@example.com', now + 3_600_000)).toBeNull();
  });

  it('another secret, a changed part or a malformed token is refused', () => {
    const t = s.issue('ada@example.com', now)!;
    expect(service({}, 'o'.repeat(40)).verify(t, 'ada@example.com', now)).toBeNull();
    const [v, exp, nonce, mac] = t.split('.');
    const flip = (x: string) => (x[0] === 'A' ? 'B' : 'A') + x.slice(1);
    for (const bad of [
      [v, String(Number(exp) + 60), nonce, mac],
      [v, exp, flip(nonce), mac],
      [v, exp, nonce, flip(mac)],
      ['d2', exp, nonce, mac],
    ]) {
      expect(s.verify(bad.join('.'), 'ada@example.com', now)).toBeNull();
    }
    for (const bad of ['', 'x', `${t}.`, t.slice(1), null, undefined]) {
      expect(s.verify(bad, 'ada@example.com', now)).toBeNull();
    }
  });

  it('AUTH_DEVICE_TOKENS=false: none issued, none honoured', () => {
    const t = s.issue('ada@example.com', now)!;
    const off = service({ AUTH_DEVICE_TOKENS: 'false' });
    expect(off.issue('ada@example.com', now)).toBeNull();
    expect(off.verify(t, 'ada@example.com', now)).toBeNull();
  });
});
