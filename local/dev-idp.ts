/**
 * A development IdP, for local use only: it publishes discovery and a JWKS on loopback and signs an
 * ID-JAG for anyone who asks, shaped like the xaa.dev playground IdP's. It stands in for the
 * enterprise IdP so the whole flow can be tried on a laptop; never trust it anywhere else.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { signJwt } from '../lambda/oauth/access-token.js';
import type { PublicKeys, Signer } from '../lambda/ports.js';

export interface IdJagRequest {
  /** The authorization server the ID-JAG is for: its issuer identifier. */
  readonly audience: string;
  /** The client at that authorization server. */
  readonly clientId: string;
  /** The user, an email address as the playground IdP uses. */
  readonly subject?: string;
  readonly scope?: string;
  readonly resource?: string | readonly string[];
  /** Seconds; the playground IdP uses five minutes. */
  readonly lifetime?: number;
  /**
   * The RFC 7638 thumbprint of the client's DPoP key: the ID-JAG is then bound to it (`cnf.jkt`),
   * and only a token request with a proof by that key can redeem it (DPOP-CNF-JKT).
   */
  readonly jkt?: string;
}

export class DevIdp {
  constructor(
    readonly issuer: string,
    private readonly key: Signer & PublicKeys,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  get jwksUri(): string {
    return `${this.issuer}/jwks`;
  }

  /** Signs an ID-JAG (RS256, typ oauth-id-jag+jwt) with the IdP's key. */
  mint(req: IdJagRequest): Promise<string> {
    const iat = this.now();
    return signJwt(
      'oauth-id-jag+jwt',
      {
        iss: this.issuer,
        sub: req.subject ?? 'alice@example.com',
        aud: req.audience,
        client_id: req.clientId,
        jti: randomUUID(),
        iat,
        nbf: iat,
        exp: iat + (req.lifetime ?? 300),
        ...(req.scope !== undefined && { scope: req.scope }),
        ...(req.resource !== undefined && { resource: req.resource }),
        ...(req.jkt !== undefined && { cnf: { jkt: req.jkt } }),
      },
      this.key,
    );
  }

  /**
   * GET /.well-known/openid-configuration, GET /jwks, and POST /id-jag with a form or JSON body of
   * audience, client_id, and optional sub, scope, resource, jkt (bind to that DPoP key): answers
   * {"id_jag": "..."}.
   */
  async listen(port: number, host = '127.0.0.1'): Promise<Server> {
    const server = createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        res
          .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(JSON.stringify(body));
      };
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
        return send(200, {
          issuer: this.issuer,
          jwks_uri: this.jwksUri,
          id_jag_endpoint: `${this.issuer}/id-jag`,
        });
      }
      if (req.method === 'GET' && path === '/jwks') {
        return void this.key.jwks().then(
          (jwks) => send(200, jwks),
          () => send(500, { error: 'server_error' }),
        );
      }
      if (req.method === 'POST' && path === '/id-jag') {
        return void readParams(req).then(
          async (p) => {
            if (!p.audience || !p.client_id)
              return send(400, {
                error: 'invalid_request',
                error_description: 'audience and client_id are required',
              });
            const resources = p.resource?.split(' ').filter(Boolean);
            const id_jag = await this.mint({
              audience: p.audience,
              clientId: p.client_id,
              subject: p.sub,
              scope: p.scope,
              resource: resources && resources.length === 1 ? resources[0] : resources,
              jkt: p.jkt || undefined,
            });
            send(200, { id_jag });
          },
          () => send(400, { error: 'invalid_request', error_description: 'unreadable body' }),
        );
      }
      send(404, { error: 'not_found' });
    });
    server.listen(port, host);
    await once(server, 'listening');
    return server;
  }
}

async function readParams(
  req: import('node:http').IncomingMessage,
): Promise<Record<string, string | undefined>> {
  let text = '';
  for await (const chunk of req as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length > 16 * 1024) throw new Error('body too large');
  }
  if ((req.headers['content-type'] ?? '').includes('json')) {
    const parsed = JSON.parse(text || '{}') as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(parsed).map(([k, v]) => [k, Array.isArray(v) ? v.join(' ') : String(v)]),
    );
  }
  return Object.fromEntries(new URLSearchParams(text));
}

export function listeningUrl(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
