/** In-memory ports for the benchmark: what is left when every dependency answers at once (or after a set delay). */
import type {
  ClientRecord,
  ClientRegistry,
  ReplayGuard,
  SecretStore,
  Signer,
} from '../lambda/ports.js';

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export class MemoryRegistry implements ClientRegistry {
  constructor(
    private readonly clients: Map<string, ClientRecord>,
    private readonly delayMs = 0,
  ) {}
  async get(id: string) {
    await sleep(this.delayMs);
    return this.clients.get(id);
  }
}

export class MemorySecrets implements SecretStore {
  constructor(
    private readonly secrets: Map<string, string>,
    private readonly delayMs = 0,
  ) {}
  async getClientSecret(ref: string) {
    await sleep(this.delayMs);
    const current = this.secrets.get(ref);
    return current === undefined ? undefined : { current };
  }
}

export class MemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(private readonly delayMs = 0) {}
  async claim(issuer: string, jti: string, expiresAt: number) {
    await sleep(this.delayMs);
    const key = `${issuer}\u0000${jti}`;
    if (this.seen.has(key)) return false;
    this.seen.set(key, expiresAt);
    return true;
  }
  async release(issuer: string, jti: string) {
    this.seen.delete(`${issuer}\u0000${jti}`);
  }
}

/** A signer that answers like KMS does: after `delayMs`. */
export function slowSigner(signer: Signer, delayMs: number): Signer {
  return {
    keyId: () => signer.keyId(),
    sign: async (input) => {
      const [signature] = await Promise.all([signer.sign(input), sleep(delayMs)]);
      return signature;
    },
  };
}
