import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts a queued mail's template parameters (they hold the link's token)
 * with AES-256-GCM, so that no usable token rests in the outbox table: a
 * database dump, a backup or a read-only SQL injection shows only ciphertext.
 * The key is derived with HKDF from the server secret (JWT_ACCESS_SECRET),
 * which never lives in the database. The mail's id, recipient and template are
 * authenticated with it (GCM additional data), so a payload moved to another
 * row or recipient fails to decrypt instead of being sent there.
 *
 * A changed JWT_ACCESS_SECRET makes the mails still queued unreadable: the
 * worker gives them up (logged) and the users ask for a new link.
 */
@Injectable()
export class PayloadCipher {
  private readonly key: Buffer;

  constructor(config: AppConfig) {
    this.key = Buffer.from(
      hkdfSync('sha256', config.jwtAccessSecret, 'auth-api', 'mail-outbox-payload/v1', 32),
    );
  }

  /** `v1.<iv>.<ciphertext>.<tag>`, base64url. */
  encrypt(plaintext: string, boundTo: MailBinding): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(boundTo));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, ct, cipher.getAuthTag()]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /** The plaintext, or null when it was not encrypted by this key for this mail. */
  decrypt(payload: string, boundTo: MailBinding): string | null {
    const parts = payload.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) return null;
    try {
      const [iv, ct, tag] = parts.slice(1).map((p) => Buffer.from(p, 'base64url'));
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return null;
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(boundTo));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}

/** What a payload is bound to: the outbox row it was written for. */
export interface MailBinding {
  id: string;
  to: string;
  template: string;
}

function aad(b: MailBinding): Buffer {
  return Buffer.from(JSON.stringify([b.id, b.to, b.template]), 'utf8');
}
