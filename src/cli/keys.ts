import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadAppConfig } from '../config/app-config.js';
import { ConfigError } from '../config/config.schema.js';
import { generatePrivateKeyPem, type AsymmetricAlgorithm } from '../keys/key-material.js';
import { devKeyFile, loadKeySet, publicJwk } from '../keys/key-set.js';

/**
 * `npm run keys -- show`: the keys the server would publish with this
 * configuration (.env and the environment; outside production without
 * JWT_PRIVATE_KEY, the development key in DATA_DIR, generated if missing):
 * each public key as PEM after a `#` line with its role and kid. Lines
 * outside PEM blocks are ignored by JWT_PUBLISHED_KEYS, so the output of
 * `show` on the current configuration can be pasted there as it is (step 2
 * of docs/deploying.md "Signing keys and rotation").
 *
 * `npm run keys -- new [ES256|EdDSA]`: a new private key (PKCS#8 PEM, for
 * JWT_PRIVATE_KEY) followed by its public key (for JWT_PUBLISHED_KEYS) and
 * its kid. Default: JWT_ALGORITHM, else ES256.
 */
const USAGE = 'usage: npm run keys -- show | new [ES256|EdDSA]';

function publicPem(key: KeyObject | string): string {
  const pub = typeof key !== 'string' && key.type === 'public' ? key : createPublicKey(key);
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

async function show(): Promise<number> {
  const config = await loadAppConfig(process.env);
  const keys = await loadKeySet(config);
  const alg = keys.algorithm;
  if (alg === 'HS256') {
    console.log('# JWT_ALGORITHM=HS256: no public keys (the JWKS is {"keys": []})');
    return 0;
  }
  const source = config.env.JWT_PRIVATE_KEY
    ? 'JWT_PRIVATE_KEY'
    : devKeyFile(config.dataDir, alg as AsymmetricAlgorithm);
  for (const [kid, key] of keys.verificationKeys) {
    const role =
      kid === keys.signer.kid
        ? `signing (${source})`
        : 'published, not signing (JWT_PUBLISHED_KEYS)';
    console.log(`# ${alg} ${role}, kid ${kid}`);
    process.stdout.write(publicPem(key));
  }
  return 0;
}

async function newKey(arg: string | undefined): Promise<number> {
  const alg = (arg ?? process.env.JWT_ALGORITHM ?? 'ES256') as string;
  if (alg !== 'ES256' && alg !== 'EdDSA') {
    console.error(`${alg}: not an algorithm with keys (ES256 or EdDSA)\n${USAGE}`);
    return 2;
  }
  const pem = generatePrivateKeyPem(alg);
  const { kid } = await publicJwk(createPrivateKey(pem), alg);
  process.stdout.write(pem);
  console.log(`# its public key (for JWT_PUBLISHED_KEYS), ${alg}, kid ${kid}`);
  process.stdout.write(publicPem(pem));
  return 0;
}

async function main(): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const [command, arg] = process.argv.slice(2);
  if (command === 'show') return show();
  if (command === 'new') return newKey(arg);
  console.error(USAGE);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof ConfigError || e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
