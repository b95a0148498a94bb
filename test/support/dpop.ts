/** A DPoP client key for tests: proofs with any claim or header a test wants to break (RFC 9449 §4). */
import { randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importPKCS8,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import { createPublicKey } from 'node:crypto';
import { accessTokenHash } from '../../lambda/oauth/dpop.js';
import { rsaPrivateKeyPem } from './test-keys.js';

export class DpopKey {
  private constructor(
    readonly alg: string,
    readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
    readonly privateJwk: JWK,
    /** RFC 7638 thumbprint: the `cnf.jkt` of a token bound to this key. */
    readonly jkt: string,
  ) {}

  static async generate(alg = 'ES256'): Promise<DpopKey> {
    let privateKey: CryptoKey;
    let publicJwk: JWK;
    if (alg.startsWith('RS') || alg.startsWith('PS')) {
      const pem = rsaPrivateKeyPem();
      privateKey = await importPKCS8(pem, alg, { extractable: true });
      publicJwk = await exportJWK(createPublicKey(pem));
    } else {
      const pair = await generateKeyPair(alg, { extractable: true });
      privateKey = pair.privateKey;
      publicJwk = await exportJWK(pair.publicKey);
    }
    const privateJwk = await exportJWK(privateKey);
    return new DpopKey(
      alg,
      privateKey,
      publicJwk,
      privateJwk,
      await calculateJwkThumbprint(publicJwk),
    );
  }

  /**
   * A proof for `htm htu` at time `iat`; `claims` and `header` override or add members
   * (undefined removes one). `accessToken` adds its `ath`.
   */
  proof(options: {
    htm?: string;
    htu: string;
    iat: number;
    accessToken?: string;
    nonce?: string;
    claims?: Record<string, unknown>;
    header?: Record<string, unknown>;
    signWith?: CryptoKey;
  }): Promise<string> {
    const claims = prune({
      jti: randomUUID(),
      htm: options.htm ?? 'POST',
      htu: options.htu,
      iat: options.iat,
      ...(options.accessToken !== undefined && { ath: accessTokenHash(options.accessToken) }),
      ...(options.nonce !== undefined && { nonce: options.nonce }),
      ...options.claims,
    });
    const header = prune({
      alg: this.alg,
      typ: 'dpop+jwt',
      jwk: this.publicJwk,
      ...options.header,
    });
    return new SignJWT(claims)
      .setProtectedHeader(header as { alg: string })
      .sign(options.signWith ?? this.privateKey);
  }
}

function prune(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The claims of a compact JWS, unverified (tests read tokens they were just given). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}
