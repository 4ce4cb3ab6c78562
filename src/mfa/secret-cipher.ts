import {
  createCipheriv,
  createDecipheriv,
  createHash,
  randomBytes,
  type BinaryLike,
} from 'node:crypto';
import { ConfigError, isKey32 } from '../config/config.schema.js';
import type { AppConfig } from '../config/app-config.js';
import { devSecretFile } from '../config/data-dir.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Outside production the key lives here (0600), generated at the first start. */
export const DEV_KEY_FILE = 'mfa-encryption-key';

/** A key and its id: the first 16 hex digits of its SHA-256 (nothing secret, stored with each secret). */
export interface MfaKey {
  id: string;
  key: Buffer;
}

/** An encrypted TOTP secret as stored: `iv.ciphertext.tag` (base64url) and the id of its key. */
export interface SealedSecret {
  secretEncrypted: string;
  keyId: string;
}

export function keyOf(base64: string): MfaKey {
  const key = Buffer.from(base64, 'base64');
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 16), key };
}

/**
 * TOTP secrets at rest: AES-256-GCM (node:crypto) with MFA_ENCRYPTION_KEY,
 * a random 96-bit IV per encryption, the user id as additional data (a
 * secret copied to another user's row does not decrypt). Each row keeps the
 * id of its key; MFA_DECRYPTION_KEYS still decrypt (the previous key of a
 * rotation) and `MfaKeyRotation` re-encrypts their rows with the current key
 * at start (docs/deploying.md, "Second factor keys").
 */
export class SecretCipher {
  private readonly byId: Map<string, Buffer>;

  constructor(
    readonly current: MfaKey,
    others: MfaKey[] = [],
  ) {
    this.byId = new Map([...others, current].map((k) => [k.id, k.key]));
  }

  /** The ids of the keys that decrypt (the current one included). */
  get keyIds(): string[] {
    return [...this.byId.keys()];
  }

  seal(secret: string, userId: string): SealedSecret {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(aad(userId));
    const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return {
      secretEncrypted: [iv, ct, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.'),
      keyId: this.current.id,
    };
  }

  /** The secret, or null when no known key decrypts it for this user. */
  open(sealed: SealedSecret, userId: string): string | null {
    const key = this.byId.get(sealed.keyId);
    const parts = sealed.secretEncrypted.split('.');
    if (!key || parts.length !== 3) return null;
    try {
      const [iv, ct, tag] = parts.map((p) => Buffer.from(p, 'base64url'));
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return null;
      const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      d.setAAD(aad(userId));
      d.setAuthTag(tag);
      return Buffer.concat([d.update(ct), d.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}

function aad(userId: BinaryLike): Buffer {
  return Buffer.from(`totp-secret:${String(userId)}`, 'utf8');
}

/**
 * The cipher of this configuration: MFA_ENCRYPTION_KEY (required in
 * production, see config.schema.ts), else the key kept in
 * DATA_DIR/mfa-encryption-key, generated at the first start (0600).
 */
export function loadSecretCipher(config: AppConfig): SecretCipher {
  const current =
    config.env.MFA_ENCRYPTION_KEY ??
    devSecretFile(
      config.dataDir,
      DEV_KEY_FILE,
      () => randomBytes(32).toString('base64') + '\n',
      checkKey,
    );
  return new SecretCipher(keyOf(current), config.env.MFA_DECRYPTION_KEYS.map(keyOf));
}

/** The key of DATA_DIR/mfa-encryption-key (devSecretFile): refused unless 32 bytes in base64. */
function checkKey(text: string, file: string): string {
  const s = text.trim();
  if (!isKey32(s)) {
    throw new ConfigError(
      `Invalid configuration:\n  ${file} does not hold a key of 32 bytes in base64.\n` +
        `  Restore it, or set MFA_ENCRYPTION_KEY (without the key that encrypted them, the TOTP secrets cannot be read).`,
    );
  }
  return s;
}
