/**
 * The local signing key: an RSA-2048 key generated on first start and kept in DATA_DIR (mode 0600).
 * It is both the Signer and the PublicKeys of the local server, as a KMS key is on AWS.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { PublicKeys, Signer } from './ports.js';

export interface KeyFileSignerOptions {
  /**
   * Sign on libuv's thread pool (node:crypto's callback form) instead of the calling thread. A
   * server with requests in flight gains a core: the RSA private-key operation, the largest
   * single cost of a token, runs beside the next request's parsing and verification.
   */
  readonly threadPool?: boolean;
}

export class KeyFileSigner implements Signer, PublicKeys {
  private constructor(
    private readonly signingKey: KeyObject,
    private readonly jwk: JWK & { kid: string },
    private readonly threadPool: boolean,
  ) {}

  /** Reads the key at `path`, creating it first if there is none. */
  static async open(path: string, options: KeyFileSignerOptions = {}): Promise<KeyFileSigner> {
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }) as string;
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await writeFile(path, pem, { mode: 0o600, flag: 'wx' }).catch(
        async (e: NodeJS.ErrnoException) => {
          // Another process created it first: use theirs.
          if (e.code !== 'EEXIST') throw e;
          pem = await readFile(path, 'utf8');
        },
      );
    }
    await chmod(path, 0o600);
    return KeyFileSigner.fromPrivateKey(createPrivateKey(pem), options);
  }

  static async fromPrivateKey(
    privateKey: KeyObject,
    options: KeyFileSignerOptions = {},
  ): Promise<KeyFileSigner> {
    if (
      privateKey.asymmetricKeyType !== 'rsa' ||
      (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048
    ) {
      throw new Error('the signing key must be an RSA key of at least 2048 bits');
    }
    const { kty, n, e } = createPublicKey(privateKey).export({ format: 'jwk' });
    const publicJwk: JWK = { kty, n, e };
    const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
    return new KeyFileSigner(
      privateKey,
      { ...publicJwk, kid, alg: 'RS256', use: 'sig' },
      options.threadPool ?? false,
    );
  }

  async keyId(): Promise<string> {
    return this.jwk.kid;
  }

  /**
   * By default on the calling thread: for one request at a time, the round trip to the thread
   * pool costs more than it saves for a quarter-millisecond operation (docs/performance.md).
   */
  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    if (!this.threadPool) return sign('sha256', signingInput, this.signingKey);
    return new Promise((resolve, reject) =>
      sign('sha256', signingInput, this.signingKey, (err, signature) =>
        err ? reject(err) : resolve(signature),
      ),
    );
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: [{ ...this.jwk }] };
  }
}
