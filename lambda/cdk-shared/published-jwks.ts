/**
 * The JWKS as the publisher writes it at deploy time and the JWKS function reads it at start-up:
 * one compact JSON document in an environment variable, so serving it needs no AWS call and no
 * SDK (JWKS-KEYS, DISC-CACHE). Both sides share the shape check and the size budget below.
 */
import { ConfigError } from '../config.js';

/** The JWKS function's variable that holds the published JWKS. */
export const PUBLISHED_JWKS_ENV = 'PUBLISHED_JWKS';

/**
 * The most the published document may take. Two AWS limits apply: a function's variables share
 * 4 KB (keys and values), and a custom resource's response to CloudFormation, which carries the
 * document, is capped at 4,096 bytes. 3,000 leaves room for the other variables and the response's
 * own fields; an RSA-2048 JWK takes about 460 bytes, so six keys fit.
 */
export const PUBLISHED_JWKS_MAX_BYTES = 3000;

/** Bytes one RSA-2048 JWK takes in the document (measured: 456 with its comma), rounded up. */
export const PUBLISHED_JWK_BYTES = 460;

export interface PublishedJwk {
  readonly kty: 'RSA';
  readonly n: string;
  readonly e: string;
  readonly kid: string;
  readonly alg: 'RS256';
  readonly use: 'sig';
}

const MEMBERS = ['alg', 'e', 'kid', 'kty', 'n', 'use'];
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The document, with each key's members in a fixed order so the same keys give the same text. */
export function serializeJwks(keys: readonly PublishedJwk[]): string {
  return JSON.stringify({
    keys: keys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use })),
  });
}

/**
 * Parses and checks the published document (JWKS-KEYS, JWKS-RSA): a value damaged on the way stops
 * the function at start-up, naming the variable, instead of serving keys nobody can verify with.
 */
export function parsePublishedJwks(text: string | undefined): { keys: PublishedJwk[] } {
  const fail = (problem: string) => new ConfigError(PUBLISHED_JWKS_ENV, problem);
  if (!text?.trim()) throw fail('is required (the stack writes it at deploy time)');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw fail('is not valid JSON');
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw fail('must be {"keys": [...]}, not empty');
  const kids = new Set<string>();
  for (const [i, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null) throw fail(`key ${i} is not an object`);
    const k = key as Record<string, unknown>;
    if (Object.keys(k).sort().join() !== MEMBERS.join())
      throw fail(`key ${i} must have exactly ${MEMBERS.join(', ')}`);
    if (k.kty !== 'RSA' || k.alg !== 'RS256' || k.use !== 'sig')
      throw fail(`key ${i} must be an RS256 signing key (kty RSA, alg RS256, use sig)`);
    for (const member of ['n', 'e', 'kid'] as const) {
      const value = k[member];
      if (typeof value !== 'string' || !BASE64URL.test(value))
        throw fail(`key ${i} "${member}" must be base64url`);
    }
    if (kids.has(k.kid as string)) throw fail(`key ${i} repeats kid ${String(k.kid)}`);
    kids.add(k.kid as string);
  }
  return { keys: keys as PublishedJwk[] };
}
