/**
 * Server-provided DPoP nonces (RFC 9449 §8), DPOP-NONCE. Stateless, so every Lambda container (or
 * local process) that holds the same key accepts the nonces of the others without a shared store:
 * a nonce names a time slot and carries an HMAC of it. It is accepted during its slot and the
 * next, so a client that has just been handed one is not refused at a slot boundary.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The least key length: an HMAC-SHA-256 key as long as its output. */
export const DPOP_NONCE_KEY_BYTES = 32;

export class DpopNonces {
  constructor(
    private readonly key: Uint8Array,
    /** Seconds since the epoch. */
    private readonly now: () => number,
    /** Slot length in seconds: a nonce is accepted for one to two slots. */
    private readonly slotSeconds = 300,
  ) {
    if (key.byteLength < DPOP_NONCE_KEY_BYTES)
      throw new Error(`the DPoP nonce key needs at least ${DPOP_NONCE_KEY_BYTES} bytes`);
  }

  /** The nonce to hand out now, in the DPoP-Nonce response header. */
  current(): string {
    return this.forSlot(this.slot());
  }

  isValid(nonce: string): boolean {
    const dot = nonce.indexOf('.');
    if (dot < 1 || dot > 12 || nonce.length > 64) return false;
    const slot = Number(nonce.slice(0, dot));
    if (!Number.isSafeInteger(slot)) return false;
    const current = this.slot();
    if (slot !== current && slot !== current - 1) return false;
    const expected = Buffer.from(this.forSlot(slot));
    const given = Buffer.from(nonce);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private slot(): number {
    return Math.floor(this.now() / this.slotSeconds);
  }

  private forSlot(slot: number): string {
    const mac = createHmac('sha256', this.key).update(`dpop-nonce:${slot}`).digest('base64url');
    return `${slot}.${mac}`;
  }
}

/** A nonce key from its configured text: base64url of at least 32 bytes, or undefined. */
export function parseDpopNonceKey(text: string): Uint8Array | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9_-]+$/.test(trimmed)) return undefined;
  const key = Buffer.from(trimmed, 'base64url');
  return key.byteLength >= DPOP_NONCE_KEY_BYTES ? key : undefined;
}
