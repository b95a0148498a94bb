/**
 * A client that authenticates with its own key (AUTH-PRIVATE-KEY-JWT), and a loopback host for
 * what such a client publishes (its JWKS, its Client ID Metadata Document). The host is plain
 * http on localhost: only the CIMD-DEV-HTTP switch lets the server fetch from it.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export class ClientKey {
  private constructor(
    readonly alg: string,
    readonly privateKey: CryptoKey,
    /** The public key as the client registers or publishes it: with kid, alg and use. */
    readonly publicJwk: JWK,
    /** The private key as a JWK, for libraries that take one. */
    readonly privateJwk: JWK,
  ) {}

  static async generate(alg = 'ES256', kid: string = randomUUID()): Promise<ClientKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg };
    return new ClientKey(alg, privateKey, publicJwk, privateJwk);
  }

  get jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /** A client assertion for `clientId` to `audience`, valid from `now`; each part overridable. */
  assertion(
    clientId: string,
    audience: string | string[],
    now: number,
    claims: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
  ): Promise<string> {
    return new SignJWT({
      iss: clientId,
      sub: clientId,
      aud: audience,
      iat: now,
      exp: now + 60,
      jti: randomUUID(),
      ...claims,
    })
      .setProtectedHeader({ alg: this.alg, kid: this.publicJwk.kid, typ: 'JWT', ...header })
      .sign(this.privateKey);
  }
}

/** Documents served at paths of a loopback origin; each response is settable per path. */
export class ClientHost {
  /** Requests seen, by path. */
  readonly hits = new Map<string, number>();
  private readonly routes = new Map<string, (res: ServerResponse) => void>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<ClientHost> {
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      host.hits.set(path, (host.hits.get(path) ?? 0) + 1);
      const route = host.routes.get(path);
      if (route) route(res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const host = new ClientHost(server, `http://localhost:${port}`);
    return host;
  }

  url(path: string): string {
    return `${this.origin}${path}`;
  }

  /** Serves `body` as JSON at `path`, with extra headers. */
  json(path: string, body: unknown, headers: Record<string, string> = {}): string {
    this.routes.set(path, (res) =>
      res
        .writeHead(200, { 'content-type': 'application/json', ...headers })
        .end(JSON.stringify(body)),
    );
    return this.url(path);
  }

  /** Serves whatever `respond` writes at `path`. */
  on(path: string, respond: (res: ServerResponse) => void): string {
    this.routes.set(path, respond);
    return this.url(path);
  }

  /** The metadata document of a private_key_jwt client at `path`, naming itself. */
  metadata(
    path: string,
    keys: { jwks: unknown } | { jwks_uri: string },
    extra: Record<string, unknown> = {},
  ): string {
    const url = this.url(path);
    return this.json(path, {
      client_id: url,
      client_name: 'Test agent',
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
      ...keys,
      ...extra,
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
