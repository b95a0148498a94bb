/**
 * The ports the protocol code is handed. Each has an AWS adapter (lambda/aws) and a local one
 * (local); the protocol (lambda/oauth) imports nothing but these types.
 */
import type { JWK, JWSHeaderParameters, FlattenedJWSInput, CryptoKey, KeyObject } from 'jose';

/** A registered client, as the registry stores it. */
export interface ClientRecord {
  readonly clientId: string;
  /** Where the secret lives: a Secrets Manager secret name, or a key in the local secret file. */
  readonly secretRef: string;
  /** Scopes this client may be granted. */
  readonly scopes: readonly string[];
  /** Resource indicators (RFC 8707) this client may be granted access tokens for. */
  readonly resources: readonly string[];
  /** Access-token lifetime in seconds; the server default when absent. */
  readonly tokenLifetime?: number;
  /** Trusted issuers whose assertions this client may redeem; every trusted issuer when absent. */
  readonly issuers?: readonly string[];
  /** A disabled client fails authentication (AUTH-FAILURE). */
  readonly enabled: boolean;
  /** DPOP-REQUIRED: every token for this client must be DPoP-bound. Off when absent. */
  readonly dpopBoundRequired?: boolean;
  /**
   * AUTH-METHOD: how the client authenticates; a shared secret (client_secret_basic or
   * client_secret_post) when absent. A `private_key_jwt` client has no secret (`secretRef` is
   * empty) and its public keys in `jwks` or at `jwksUri`, never both.
   */
  readonly authMethod?: ClientAuthMethod;
  /** AUTH-PRIVATE-KEY-JWT: the client's public keys, held in the record. */
  readonly jwks?: { readonly keys: readonly JWK[] };
  /** AUTH-PRIVATE-KEY-JWT: where the client publishes its public keys. */
  readonly jwksUri?: string;
  /** AUTH-PRIVATE-KEY-JWT: the one algorithm the client signs with, when it names one. */
  readonly tokenEndpointAuthSigningAlg?: string;
}

/** AUTH-METHOD: the two ways a client proves who it is. */
export type ClientAuthMethod = 'client_secret' | 'private_key_jwt';

export interface ClientRegistry {
  /** The client, or undefined when it is not registered. */
  get(clientId: string): Promise<ClientRecord | undefined>;
}

/** A client's secret as the store holds it (AUTH-SECRET). */
export interface ClientSecret {
  /** The secret the client was given last. */
  readonly current: string;
  /**
   * The secret a rotation replaced, while its grace period lasts: it authenticates until `until`
   * (epoch seconds, exclusive), so each client can switch to the new one in its own time. Whoever
   * compares judges `until` by its own clock: a store may hand back a previous secret whose grace
   * has ended (from a cache, say).
   */
  readonly previous?: { readonly secret: string; readonly until: number };
}

export interface SecretStore {
  /**
   * A client's secret(s) for a reference, or undefined when there is none. `refresh` asks for a
   * value newer than any cached one (a presented secret did not match: it may have just been
   * rotated); an adapter may bound how often it honours that.
   */
  getClientSecret(ref: string, options?: { refresh?: boolean }): Promise<ClientSecret | undefined>;
}

export interface Signer {
  /** RFC 7638 thumbprint of the active key, as it appears in the JWKS. */
  keyId(): Promise<string>;
  /** RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature over the JWS signing input. */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}

export interface PublicKeys {
  /** Every key that may have signed a live token, as public JWKs with `kid`, `alg`, `use`. */
  jwks(): Promise<{ keys: JWK[] }>;
}

export interface ReplayGuard {
  /**
   * Record the first use of (issuer, jti) until `expiresAt` (epoch seconds). Resolves true for the
   * one caller that recorded it, false for every later or concurrent one. Must be atomic.
   */
  claim(issuer: string, jti: string, expiresAt: number): Promise<boolean>;
  /** Undo this caller's successful claim when no token could be issued for it. */
  release(issuer: string, jti: string): Promise<void>;
}

/** Resolves the key a trusted issuer signed with, from that issuer's published JWKS. */
export type KeyResolver = (
  header: JWSHeaderParameters,
  token: FlattenedJWSInput,
) => Promise<CryptoKey | KeyObject | Uint8Array>;

export interface IssuerKeys {
  /** The key resolver for a trusted issuer. */
  resolverFor(issuer: string): KeyResolver;
}

/** AUTH-PRIVATE-KEY-JWT: the keys clients publish at their `jwks_uri`. */
export interface ClientKeys {
  /** The key resolver for a client's `jwks_uri`, keeping keys usable with `algorithms`. */
  resolverFor(jwksUri: string, algorithms: readonly string[]): KeyResolver;
}

/**
 * CIMD: the client that a Client ID Metadata Document URL names, when the operator's policy
 * admits it. Rejects with InvalidClient (saying why) for a URL the policy refuses, before any
 * request leaves, and for a document that cannot be fetched or is not valid.
 */
export interface ClientMetadataDocuments {
  resolve(clientId: string): Promise<ClientRecord>;
}

export interface Clock {
  /** Seconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Math.floor(Date.now() / 1000) };
