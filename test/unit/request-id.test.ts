import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { trustedPeer } from '../../src/config/trust-proxy.js';
import { requestIdGenerator } from '../../src/logging/logger.js';

const req = (remoteAddress: string, id?: string) =>
  ({
    headers: id === undefined ? {} : { 'x-request-id': id },
    socket: { remoteAddress },
  }) as unknown as IncomingMessage;

describe('X-Request-Id is taken only from a trusted proxy (TRUST_PROXY)', () => {
  it.each([
    ['loopback', '127.0.0.1', true],
    ['loopback', '::1', true],
    ['loopback', '203.0.113.5', false],
    ['10.0.0.0/8, 192.168.1.1', '10.1.2.3', true],
    ['10.0.0.0/8, 192.168.1.1', '192.168.1.1', true],
    ['10.0.0.0/8, 192.168.1.1', '192.168.1.2', false],
    ['1', '203.0.113.5', true],
    ['0', '127.0.0.1', false],
    ['true', '203.0.113.5', true],
    ['false', '127.0.0.1', false],
  ])('TRUST_PROXY=%s, peer %s: kept %s', (trust, peer, kept) => {
    const gen = requestIdGenerator(trustedPeer(trust));
    const id = gen(req(peer, 'proxy-id-42'));
    expect(id === 'proxy-id-42').toBe(kept);
    if (!kept) expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a trusted proxy’s id is kept only when it looks like an id', () => {
    const gen = requestIdGenerator(trustedPeer('loopback'));
    expect(gen(req('127.0.0.1', 'a b"c'))).toMatch(/^[0-9a-f-]{36}$/);
    expect(gen(req('127.0.0.1', 'x'.repeat(129)))).toMatch(/^[0-9a-f-]{36}$/);
    expect(gen(req('127.0.0.1'))).toMatch(/^[0-9a-f-]{36}$/);
  });
});
