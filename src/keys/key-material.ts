import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';

/**
 * Key material from text (PEM in environment variables or DATA_DIR files),
 * checked against the configured algorithm. Synchronous (node:crypto), so the
 * configuration schema can refuse a bad key at start, naming the variable,
 * before anything opens.
 */

export const JWT_ALGORITHMS = ['ES256', 'EdDSA', 'HS256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];
export type AsymmetricAlgorithm = Exclude<JwtAlgorithm, 'HS256'>;

export function isAsymmetric(alg: JwtAlgorithm): alg is AsymmetricAlgorithm {
  return alg !== 'HS256';
}

/** What a key of the algorithm is: node's asymmetricKeyType and, for EC, the curve. */
const KEY_KIND: Record<AsymmetricAlgorithm, { type: string; curve?: string; label: string }> = {
  ES256: { type: 'ec', curve: 'prime256v1', label: 'an EC P-256 key' },
  EdDSA: { type: 'ed25519', label: 'an Ed25519 key' },
};

/**
 * Environment variables often cannot hold newlines: a literal `\n` (two
 * characters) stands for one, as most platforms' secret stores write it.
 */
export function unescapePem(text: string): string {
  return text.includes('\\n') ? text.replace(/\\n/g, '\n') : text;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Every PEM block of `text`, in order. */
export function pemBlocks(text: string): { label: string; pem: string }[] {
  return [...unescapePem(text).matchAll(PEM_BLOCK)].map((m) => ({ label: m[1], pem: m[0] }));
}

function checkKind(key: KeyObject, alg: AsymmetricAlgorithm): void {
  const kind = KEY_KIND[alg];
  const ok =
    key.asymmetricKeyType === kind.type &&
    (!kind.curve || key.asymmetricKeyDetails?.namedCurve === kind.curve);
  if (!ok) {
    const found =
      key.asymmetricKeyType === 'ec'
        ? `an EC key on ${key.asymmetricKeyDetails?.namedCurve}`
        : `a key of type ${key.asymmetricKeyType}`;
    throw new Error(`must be ${kind.label} for ${alg}, found ${found}`);
  }
}

/** The private key of a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) for `alg`; throws a sentence otherwise. */
export function parsePrivateKeyPem(text: string, alg: AsymmetricAlgorithm): KeyObject {
  const blocks = pemBlocks(text);
  if (blocks.length !== 1 || blocks[0].label !== 'PRIVATE KEY') {
    throw new Error(
      'must be one PEM (PKCS#8) private key, "-----BEGIN PRIVATE KEY-----" … "-----END PRIVATE KEY-----"' +
        ' (convert others with: openssl pkcs8 -topk8 -nocrypt)',
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: blocks[0].pem, format: 'pem' });
  } catch {
    throw new Error('is not a readable PEM (PKCS#8) private key');
  }
  checkKind(key, alg);
  return key;
}

/**
 * The public keys of a list of PEM blocks (`PUBLIC KEY`, or `PRIVATE KEY`
 * of which only the public part is kept), each of `alg`'s kind.
 */
export function parsePublicKeysPem(text: string, alg: AsymmetricAlgorithm): KeyObject[] {
  const blocks = pemBlocks(text);
  if (blocks.length === 0 && text.trim() !== '') {
    throw new Error('must be PEM public keys ("-----BEGIN PUBLIC KEY-----" …), one after another');
  }
  return blocks.map(({ label, pem }, i) => {
    let key: KeyObject;
    try {
      if (label === 'PUBLIC KEY') key = createPublicKey({ key: pem, format: 'pem' });
      else if (label === 'PRIVATE KEY') key = createPublicKey(createPrivateKey(pem));
      else throw new Error();
    } catch {
      throw new Error(
        `key ${i + 1} is not a readable PEM public key ("-----BEGIN PUBLIC KEY-----")`,
      );
    }
    try {
      checkKind(key, alg);
    } catch (e) {
      throw new Error(`key ${i + 1} ${(e as Error).message}`);
    }
    return key;
  });
}

/** A new private key for `alg`, as PKCS#8 PEM. */
export function generatePrivateKeyPem(alg: AsymmetricAlgorithm): string {
  const { privateKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
