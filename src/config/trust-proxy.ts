import proxyAddr from '@fastify/proxy-addr';

type TrustFn = (addr: string, hop: number) => boolean;

/**
 * TRUST_PROXY as Fastify's `trustProxy`: true/false, a hop count, or
 * addresses/subnets ('loopback', '10.0.0.0/8,127.0.0.1'). Decides which
 * X-Forwarded-For entries count (the client IP of rate limits and sessions).
 */
export function fastifyTrustProxy(value: string): boolean | string | TrustFn {
  if (value === 'true') return true;
  if (value === 'false' || value === '') return false;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_addr, hop) => hop < hops;
  }
  return value;
}

/**
 * Whether the immediate peer (the socket's address) is a trusted proxy under
 * TRUST_PROXY: only then are headers it sets about the client believed
 * (X-Forwarded-For by Fastify, X-Request-Id by logging/logger.ts).
 */
export function trustedPeer(value: string): (addr: string | undefined) => boolean {
  const t = fastifyTrustProxy(value);
  if (t === true) return () => true;
  if (t === false) return () => false;
  const fn: TrustFn =
    typeof t === 'function' ? t : proxyAddr.compile(t.split(',').map((s) => s.trim()));
  return (addr) => addr !== undefined && fn(addr, 0);
}
