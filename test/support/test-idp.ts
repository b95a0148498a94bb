/**
 * A trusted IdP for tests, on loopback only: it publishes a JWKS over HTTP and mints ID-JAGs with
 * any header or claim a test wants to break. Its JWKS endpoint can be made slow, failing or garbage.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createPublicKey, randomUUID } from 'node:crypto';
import {
  exportJWK,
  generateKeyPair,
  importPKCS8,
  SignJWT,
  calculateJwkThumbprint,
  type JWK,
  type CryptoKey,
} from 'jose';
import { rsaPrivateKeyPem } from './test-keys.js';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** A signing key no other makeKey call in this test file returns (RSA ones from the pool). */
export async function makeKey(alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicJwk } = /^[RP]S\d+$/.test(alg)
    ? await pooledRsaKey(alg)
    : await generateKeyPair(alg, { extractable: true }).then(async (pair) => ({
        privateKey: pair.privateKey,
        publicJwk: await exportJWK(pair.publicKey),
      }));
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, alg, privateKey, publicJwk: { ...publicJwk, kid, alg, use: 'sig' } };
}

async function pooledRsaKey(alg: string): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const pem = rsaPrivateKeyPem();
  return {
    privateKey: await importPKCS8(pem, alg, { extractable: true }),
    publicJwk: await exportJWK(createPublicKey(pem)),
  };
}

export type JwksMode = 'ok' | 'error' | 'garbage' | 'hang';

export class TestIdp {
  /** Keys published in the JWKS. */
  published: SigningKey[] = [];
  mode: JwksMode = 'ok';
  jwksFetches = 0;
  private server!: Server;
  issuer = '';
  jwksUri = '';

  static async start(): Promise<TestIdp> {
    const idp = new TestIdp();
    idp.published = [await makeKey()];
    idp.server = createServer((req, res) => {
      if (req.url !== '/jwks') {
        res.writeHead(404).end();
        return;
      }
      idp.jwksFetches++;
      if (idp.mode === 'hang') return; // never answers: the fetch must time out
      if (idp.mode === 'error') {
        res.writeHead(500).end('down');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        idp.mode === 'garbage'
          ? '{"keys": "nope"'
          : JSON.stringify({ keys: idp.published.map((k) => k.publicJwk) }),
      );
    });
    idp.server.listen(0, '127.0.0.1');
    await once(idp.server, 'listening');
    const { port } = idp.server.address() as AddressInfo;
    idp.issuer = `http://127.0.0.1:${port}`;
    idp.jwksUri = `${idp.issuer}/jwks`;
    return idp;
  }

  get key(): SigningKey {
    return this.published[0]!;
  }

  /**
   * A signed ID-JAG. `claims` override the defaults (a value of undefined removes the claim);
   * `header` overrides the protected header likewise.
   */
  async mint(
    defaults: { audience: string; clientId: string; now?: number },
    claims: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    key: SigningKey = this.key,
  ): Promise<string> {
    const now = defaults.now ?? Math.floor(Date.now() / 1000);
    const payload = strip({
      iss: this.issuer,
      sub: 'alice@example.com',
      aud: defaults.audience,
      client_id: defaults.clientId,
      jti: randomUUID(),
      iat: now,
      exp: now + 300,
      scope: 'read write',
      resource: 'https://api.example.com/',
      ...claims,
    });
    const protectedHeader = strip({
      alg: key.alg,
      typ: 'oauth-id-jag+jwt',
      kid: key.kid,
      ...header,
    });
    return new SignJWT(payload)
      .setProtectedHeader(protectedHeader as { alg: string })
      .sign(key.privateKey);
  }

  /** Signs any header and payload as given (RS256), bypassing jose's own checks on what it signs. */
  async signRaw(
    header: Record<string, unknown>,
    payload: Record<string, unknown>,
    key: SigningKey = this.key,
  ): Promise<string> {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${enc(header)}.${enc(payload)}`;
    const sig = await crypto.subtle.sign(
      'RSASSA-PKCS1-v1_5',
      key.privateKey,
      new TextEncoder().encode(input),
    );
    return `${input}.${Buffer.from(sig).toString('base64url')}`;
  }

  trusted(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { issuer: this.issuer, jwks_uri: this.jwksUri, ...overrides };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function strip(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
