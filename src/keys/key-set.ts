import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import type { AppConfig } from '../config/app-config.js';
import { ConfigError } from '../config/config.schema.js';
import { devSecretFile } from '../config/data-dir.js';
import {
  generatePrivateKeyPem,
  isAsymmetric,
  parsePrivateKeyPem,
  parsePublicKeysPem,
  type AsymmetricAlgorithm,
  type JwtAlgorithm,
} from './key-material.js';

/** A public key as the JWKS publishes it: public members only, never `d`. */
export interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  y?: string;
  kid: string;
  alg: AsymmetricAlgorithm;
  use: 'sig';
}

/**
 * The keys of this server, built once at start (KeyObjects, kids, the JWKS
 * document) so that nothing is parsed or derived per request.
 *
 * - `signer`: what signs access tokens now (JWT_PRIVATE_KEY, or the
 *   development key in DATA_DIR; the HS256 secret in HS256 mode).
 * - `verificationKeys`: kid -> public key, for every key that tokens may be
 *   signed with: the signer's and those of JWT_PUBLISHED_KEYS (the next key
 *   before it signs, the previous one until its tokens have expired). A
 *   token whose kid is not here is refused. Empty in HS256 mode.
 * - `jwks`: the same keys as GET /.well-known/jwks.json serves them.
 */
export class KeySet {
  constructor(
    readonly algorithm: JwtAlgorithm,
    readonly signer: { kid?: string; key: KeyObject },
    readonly verificationKeys: ReadonlyMap<string, KeyObject>,
    readonly jwks: { keys: PublicJwk[] },
  ) {}

  /** The key a token with this header `kid` is verified with, or undefined (refuse the token). */
  keyFor(kid: unknown): KeyObject | undefined {
    if (!isAsymmetric(this.algorithm)) return this.signer.key;
    return typeof kid === 'string' ? this.verificationKeys.get(kid) : undefined;
  }
}

/** DATA_DIR file of the generated development key of an algorithm. */
export function devKeyFile(dataDir: string, alg: AsymmetricAlgorithm): string {
  return join(dataDir, devKeyFileName(alg));
}

function devKeyFileName(alg: AsymmetricAlgorithm): string {
  return `jwt-signing-key-${alg.toLowerCase()}.pem`;
}

/** The public JWK of a key, with its RFC 7638 thumbprint (SHA-256) as kid. */
export async function publicJwk(key: KeyObject, alg: AsymmetricAlgorithm): Promise<PublicJwk> {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const { kty, crv, x, y } = pub.export({ format: 'jwk' });
  const members = { kty: kty!, crv: crv!, x: x!, ...(y ? { y } : {}) };
  const kid = await calculateJwkThumbprint(members, 'sha256');
  return { ...members, kid, alg, use: 'sig' };
}

export async function loadKeySet(config: AppConfig): Promise<KeySet> {
  const alg = config.env.JWT_ALGORITHM;
  if (!isAsymmetric(alg)) {
    return new KeySet(
      alg,
      { key: createSecretKey(Buffer.from(config.jwtAccessSecret)) },
      new Map(),
      { keys: [] },
    );
  }
  const privateKey = config.env.JWT_PRIVATE_KEY
    ? parsePrivateKeyPem(config.env.JWT_PRIVATE_KEY, alg)
    : devPrivateKey(config.dataDir, alg);
  const published = config.env.JWT_PUBLISHED_KEYS
    ? parsePublicKeysPem(config.env.JWT_PUBLISHED_KEYS, alg)
    : [];
  const signerJwk = await publicJwk(privateKey, alg);
  const keys = new Map<string, KeyObject>([[signerJwk.kid, createPublicKey(privateKey)]]);
  const jwks: PublicJwk[] = [signerJwk];
  for (const key of published) {
    const jwk = await publicJwk(key, alg);
    if (keys.has(jwk.kid)) continue;
    keys.set(jwk.kid, key);
    jwks.push(jwk);
  }
  return new KeySet(alg, { kid: signerJwk.kid, key: privateKey }, keys, { keys: jwks });
}

/**
 * The development signing key, kept in DATA_DIR (devSecretFile) so that
 * tokens survive restarts: generated at the first start without
 * JWT_PRIVATE_KEY. A file that does not hold a usable key is refused, not
 * replaced (someone wrote it).
 */
function devPrivateKey(dataDir: string, alg: AsymmetricAlgorithm): KeyObject {
  return devSecretFile(
    dataDir,
    devKeyFileName(alg),
    () => generatePrivateKeyPem(alg),
    (pem, file) => {
      try {
        return parsePrivateKeyPem(pem, alg);
      } catch (e) {
        throw new ConfigError(
          `Invalid configuration:\n  ${file}: ${(e as Error).message}.\n` +
            `  Delete the file to have a new key generated at the next start (tokens signed with the old one stop working),\n` +
            `  or set JWT_PRIVATE_KEY.`,
        );
      }
    },
  );
}
