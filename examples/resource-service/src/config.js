/**
 * The service's configuration, from the environment. All it knows about the
 * auth API: where its keys are published (the discovery document, or the JWKS
 * itself) and which issuer and audience its tokens carry. No secret.
 */
function int(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

function required(env, name) {
  const v = env[name]?.trim();
  if (!v) throw new Error(`${name} is required`);
  return v;
}

export function loadConfig(env = process.env) {
  const discoveryUrl = env.AUTH_DISCOVERY_URL?.trim() || undefined;
  const jwksUrl = env.AUTH_JWKS_URL?.trim() || undefined;
  if (!discoveryUrl && !jwksUrl) {
    throw new Error(
      'AUTH_DISCOVERY_URL (https://auth.example.com/.well-known/openid-configuration) or AUTH_JWKS_URL is required',
    );
  }
  for (const [name, url] of [
    ['AUTH_DISCOVERY_URL', discoveryUrl],
    ['AUTH_JWKS_URL', jwksUrl],
  ]) {
    if (url && !URL.canParse(url)) throw new Error(`${name} is not a URL: "${url}"`);
  }
  return {
    port: int(env, 'PORT', 4000),
    host: env.HOST?.trim() || undefined,
    auth: {
      discoveryUrl,
      jwksUrl,
      issuer: required(env, 'AUTH_ISSUER'),
      audience: required(env, 'AUTH_AUDIENCE'),
      // Pinned: a token's own `alg` header never chooses. The API signs with ES256 by default.
      algorithms: (env.AUTH_ALGORITHMS ?? 'ES256')
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
      // How long fetched keys are used before the JWKS is fetched again: the API's default
      // JWKS_MAX_AGE, 5 min (jose's own default would be 10 min).
      // Keep it at most the time the API's key rotation waits between publishing a key and signing with it.
      cacheMaxAge: int(env, 'AUTH_JWKS_CACHE_MAX_AGE_MS', 300_000),
      // A token with an unknown `kid` triggers a refetch at most this often (jose's default: 30 s).
      cooldownDuration: int(env, 'AUTH_JWKS_COOLDOWN_MS', 30_000),
      // Seconds of clock skew tolerated on exp/nbf.
      clockTolerance: int(env, 'AUTH_CLOCK_TOLERANCE_S', 0),
    },
  };
}
