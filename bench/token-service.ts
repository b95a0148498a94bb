/** (2) and (3): the token service in-process, with in-memory adapters that answer at once or wait like AWS. */
import { generateKeyPairSync } from 'node:crypto';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  calculateJwkThumbprint,
} from 'jose';
import { loadServiceConfig } from '../lambda/config.js';
import { KeyFileSigner } from '../lambda/key-file-signer.js';
import { TokenService } from '../lambda/oauth/token-service.js';
import { createTokenHandler } from '../lambda/handlers/token.js';
import { silentLog } from '../lambda/logging.js';
import type { HttpEvent, HttpHandler } from '../lambda/http/types.js';
import { JWT_BEARER_GRANT } from '../lambda/oauth/grant-types.js';
import type { ClientRecord, IssuerKeys } from '../lambda/ports.js';
import { MemoryRegistry, MemoryReplayGuard, MemorySecrets, slowSigner } from './memory-adapters.js';
import { summarize } from './stats.js';

const ISSUER = 'https://as.example.com';
const IDP = 'https://idp.example.com';
const CLIENT: ClientRecord = {
  clientId: 'bench',
  secretRef: 'bench',
  scopes: ['read', 'write'],
  resources: ['https://api.example.com/'],
  enabled: true,
};
const SECRET = 'bench-secret-0123456789abcdef';

export interface Setup {
  /** The token handler (payload 2.0 in, HTTP result out) over the service below. */
  handler: HttpHandler;
  /** Ready-made API Gateway events, each with a fresh ID-JAG. */
  mint: (n: number) => Promise<HttpEvent[]>;
}

/**
 * A token service whose every port is in memory; `delays` make them wait like AWS does. With
 * `dpop`, each event also carries a fresh ES256 DPoP proof (made here, outside the timing), so the
 * token is bound: what the proof costs the server is the difference.
 */
export async function setup(
  delays: { signMs?: number; replayMs?: number; dpop?: boolean } = {},
): Promise<Setup> {
  const idpKey = await generateKeyPair('RS256', { extractable: true });
  const idpJwk = { ...(await exportJWK(idpKey.publicKey)), alg: 'RS256', use: 'sig' };
  const kid = await calculateJwkThumbprint(idpJwk);
  const jwks = createLocalJWKSet({ keys: [{ ...idpJwk, kid }] });
  const issuerKeys: IssuerKeys = { resolverFor: () => jwks };
  const signer = await KeyFileSigner.fromPrivateKey(
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  );
  const config = loadServiceConfig({
    ISSUER,
    TRUSTED_ISSUERS: JSON.stringify([{ issuer: IDP, jwks_uri: `${IDP}/jwks` }]),
  });
  const service = new TokenService({
    config,
    registry: new MemoryRegistry(new Map([[CLIENT.clientId, CLIENT]])),
    secrets: new MemorySecrets(new Map([[CLIENT.secretRef, SECRET]])),
    signer: delays.signMs ? slowSigner(signer, delays.signMs) : signer,
    replay: new MemoryReplayGuard(delays.replayMs ?? 0),
    issuerKeys,
    clock: { now: () => Math.floor(Date.now() / 1000) },
  });
  const handler = createTokenHandler({ service, corsOrigins: [], logger: silentLog });
  const mint = await minter({
    idpKey: idpKey.privateKey,
    kid,
    idp: IDP,
    issuer: ISSUER,
    clientId: CLIENT.clientId,
    secret: SECRET,
    dpop: delays.dpop,
  });
  return { handler, mint };
}

/**
 * Ready-made API Gateway events for POST /token, each with a fresh ID-JAG signed by `idpKey`
 * (and, with `dpop`, a fresh ES256 DPoP proof): made before a run, so no timing includes them.
 */
export async function minter(o: {
  idpKey: Parameters<SignJWT['sign']>[0];
  kid: string;
  idp: string;
  issuer: string;
  clientId: string;
  secret: string;
  dpop?: boolean;
}): Promise<(n: number) => Promise<HttpEvent[]>> {
  const dpopKey = o.dpop ? await generateKeyPair('ES256') : undefined;
  const dpopJwk = dpopKey && (await exportJWK(dpopKey.publicKey));
  let serial = 0;
  const mint = async (n: number): Promise<HttpEvent[]> => {
    const now = Math.floor(Date.now() / 1000);
    return Promise.all(
      Array.from({ length: n }, async () => {
        const jag = await new SignJWT({
          iss: o.idp,
          sub: 'alice@example.com',
          aud: o.issuer,
          client_id: o.clientId,
          jti: `j${serial++}`,
          iat: now,
          exp: now + 300,
          scope: 'read',
          resource: 'https://api.example.com/',
        })
          .setProtectedHeader({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid: o.kid })
          .sign(o.idpKey);
        const body = new URLSearchParams({
          grant_type: JWT_BEARER_GRANT,
          assertion: jag,
          client_id: o.clientId,
          client_secret: o.secret,
        }).toString();
        return {
          version: '2.0',
          routeKey: 'POST /token',
          rawPath: '/token',
          rawQueryString: '',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            ...(dpopKey && {
              dpop: await new SignJWT({
                jti: crypto.randomUUID(),
                htm: 'POST',
                htu: `${o.issuer}/token`,
                iat: now,
              })
                .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: dpopJwk })
                .sign(dpopKey.privateKey),
            }),
          },
          requestContext: {
            requestId: `r${serial}`,
            http: {
              method: 'POST',
              path: '/token',
              protocol: 'HTTP/1.1',
              sourceIp: '127.0.0.1',
              userAgent: 'bench',
            },
          },
          body: Buffer.from(body).toString('base64'),
          isBase64Encoded: true,
        } as unknown as HttpEvent;
      }),
    );
  };
  return mint;
}

/** Tokens per second with `inFlight` requests at a time, and the CPU cores that took. */
export async function throughput(
  s: Setup,
  events: HttpEvent[],
  inFlight: number,
): Promise<{ tokensPerSecond: number; cores: number }> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < events.length) {
        const res = await s.handler(events[next++]!);
        if (res.statusCode !== 200) throw new Error(`unexpected ${res.statusCode}: ${res.body}`);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // The main thread's CPU plus libuv's pool (where WebCrypto signs and verifies) both count here.
  return {
    tokensPerSecond: events.length / seconds,
    cores: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

/** Latency of single requests, one after another. */
export async function latency(
  s: Setup,
  events: HttpEvent[],
): Promise<{ p50: number; p99: number; mean: number }> {
  const samples: number[] = [];
  for (const event of events) {
    const t0 = performance.now();
    const res = await s.handler(event);
    samples.push(performance.now() - t0);
    if (res.statusCode !== 200) throw new Error(`unexpected ${res.statusCode}: ${res.body}`);
  }
  return summarize(samples);
}
