/**
 * What an agent publishes when it is named by a URL instead of being registered (CIMD): its Client
 * ID Metadata Document and the JWKS of its key, here on a loopback site of its own. The agent keeps
 * the private key; the site serves only public keys. Each request it answers is printed, so the
 * demo shows the authorization server fetching the document while it handles the token request.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Print } from './stage.js';

/** A signing key as the agent holds it: the private JWK for the SDK, the public one to publish. */
export interface AgentKey {
  readonly alg: string;
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

/** A fresh key; its kid is its RFC 7638 thumbprint unless another is given. */
export async function generateAgentKey(alg = 'ES256', kid?: string): Promise<AgentKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const pub = await exportJWK(publicKey);
  kid ??= await calculateJwkThumbprint(pub);
  return {
    alg,
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg },
    publicJwk: { ...pub, kid, alg, use: 'sig' },
  };
}

export class AgentSite {
  private readonly documents = new Map<string, unknown>();
  private readonly requests = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    /** `http://localhost:{port}`: loopback only. */
    readonly origin: string,
  ) {}

  /** Listens on 127.0.0.1; `print` gets one line per request answered. */
  static async start(print: Print): Promise<AgentSite> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const site = new AgentSite(
      server,
      `http://localhost:${(server.address() as AddressInfo).port}`,
    );
    server.on('request', (req, res) => {
      const path = new URL(req.url ?? '/', site.origin).pathname;
      site.requests.set(path, (site.requests.get(path) ?? 0) + 1);
      const body = req.method === 'GET' ? site.documents.get(path) : undefined;
      const status = body === undefined ? 404 : 200;
      print(`      \u21b3 the agent\u2019s site answers ${req.method} ${path}: ${status}`);
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    return site;
  }

  /** Serves `body` as JSON at `path`; returns its URL. */
  publish(path: string, body: unknown): string {
    this.documents.set(path, body);
    return `${this.origin}${path}`;
  }

  /** How many requests for `path` the site has answered. */
  hits(path: string): number {
    return this.requests.get(path) ?? 0;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
