/**
 * Registering, changing, listing and removing clients, and rotating their secrets: the record in the
 * registry, the secret in the store. A client is checked against the server's own policy (its
 * trusted issuers and its token-lifetime cap) when the caller knows it.
 */
import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import { isResourceIndicator } from '../../lambda/oauth/grant.js';
import {
  CLIENT_ASSERTION_ALGORITHMS,
  CLIENT_KEY_DEFAULTS,
  MAX_CLIENT_KEYS,
} from '../../lambda/oauth/client-assertion.js';
import { usableKeys } from '../../lambda/oauth/usable-keys.js';
import { CLIENT_ID, SCOPE_TOKEN } from '../../lambda/oauth/syntax.js';
import type { ClientRecord } from '../../lambda/ports.js';
import { fetchableUrl } from '../../lambda/remote/outbound-fetch.js';

export interface ClientRecordStore {
  get(clientId: string): Promise<ClientRecord | undefined>;
  add(client: ClientRecord): Promise<boolean>;
  list(): Promise<ClientRecord[]>;
  remove(clientId: string): Promise<ClientRecord | undefined>;
  setEnabled(clientId: string, enabled: boolean): Promise<boolean>;
  /** Replaces a registered client's record; resolves false when it is not registered. */
  update(client: ClientRecord): Promise<boolean>;
}

export interface WritableSecretStore {
  putSecret(ref: string, secret: string): Promise<void>;
  deleteSecret(ref: string): Promise<void>;
  /**
   * AUTH-SECRET: `secret` becomes the current secret; the one it replaces keeps authenticating
   * until `previousUntil` (epoch seconds), or stops at once when that is absent. Resolves false
   * when there is no secret under `ref`.
   */
  rotateSecret(ref: string, secret: string, previousUntil?: number): Promise<boolean>;
}

/** What the server allows, as far as a client's registration is concerned. */
export interface ServerPolicy {
  /** Where the policy was read (the running server, a stack, the shell): errors say it. */
  readonly source: string;
  readonly trustedIssuers: readonly string[];
  /** The server's cap on any access token's lifetime (MAX_ACCESS_TOKEN_TTL), seconds. */
  readonly maxAccessTokenTtl: number;
}

/** The fields `clients update` may change; absent ones are kept. */
export interface ClientChanges {
  readonly scopes?: readonly string[];
  readonly resources?: readonly string[];
  /** null: back to the server's default lifetime. */
  readonly tokenLifetime?: number | null;
  /** An empty list: any trusted issuer again. */
  readonly issuers?: readonly string[];
  /**
   * AUTH-PRIVATE-KEY-JWT: a key client's new keys (a JWKS, or where it publishes them), replacing
   * the ones on record: how a client with keys held in its record rotates them.
   */
  readonly jwks?: unknown;
  readonly jwksUri?: string;
}

export interface NewClient {
  readonly clientId: string;
  /** AUTH-SECRET: the client's secret; generated unless given, and absent for a key client. */
  readonly clientSecret?: string;
  /**
   * AUTH-PRIVATE-KEY-JWT: the client authenticates with keys instead of a secret: its public
   * JWKS, held in the record…
   */
  readonly jwks?: unknown;
  /** …or the https URL where it publishes them. */
  readonly jwksUri?: string;
  readonly scopes: readonly string[];
  readonly resources: readonly string[];
  readonly tokenLifetime?: number;
  readonly issuers?: readonly string[];
  /** DPOP-REQUIRED: the client's tokens must be DPoP-bound. */
  readonly dpopBoundRequired?: boolean;
}

/** A request the admin cannot carry out as given: the CLI prints the message and exits non-zero. */
export class AdminError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

const MIN_SECRET_LENGTH = 16;
/** The longest grace period a rotation may give the previous secret: 30 days. */
export const MAX_GRACE_SECONDS = 30 * 86400;

/** 256 bits from the CSPRNG, base64url: safe in a form body and a Basic header alike. */
function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

const bad = (msg: string) => new AdminError(msg, 2);

/** AUTH-SECRET: a chosen secret is long enough to guess at no better than a generated one's odds. */
function validateSecret(secret: string | undefined): void {
  if (
    secret !== undefined &&
    (secret.length < MIN_SECRET_LENGTH || !/^[\x20-\x7E]+$/.test(secret))
  ) {
    throw bad(
      `the client secret must be at least ${MIN_SECRET_LENGTH} printable ASCII characters (or leave it out to generate one)`,
    );
  }
}

/**
 * Checks a client's fields; throws AdminError (exit code 2) naming the flag of the first bad one,
 * in one line. With the server's policy, also what the token endpoint would never honour.
 */
function validateClient(c: Omit<NewClient, 'clientSecret'>, policy?: ServerPolicy): void {
  if (!CLIENT_ID.test(c.clientId))
    throw bad('--client-id must be 1-128 characters of A-Z a-z 0-9 . _ @ + = -');
  if (c.scopes.length === 0) throw bad('--scope must name at least one scope');
  for (const s of c.scopes) {
    // GRANT-SCOPE: a comma is legal in a scope token, but "read,write" is nearly always two scopes
    // written the wrong way; as one scope it would match nothing any IdP sends.
    if (s.includes(','))
      throw bad(
        `--scope ${JSON.stringify(s)} contains a comma: separate scopes with spaces (--scope ${JSON.stringify(s.split(',').filter(Boolean).join(' '))})`,
      );
    if (!SCOPE_TOKEN.test(s))
      throw bad(
        `--scope ${JSON.stringify(s)} is not a valid scope token: printable ASCII other than space, " and \\ (RFC 6749 section 3.3)`,
      );
  }
  if (c.resources.length === 0)
    throw bad('--resource is required (an absolute URI; repeat it for several)');
  for (const r of c.resources) {
    // GRANT-RESOURCE: RFC 8707 section 2.
    if (!isResourceIndicator(r))
      throw bad(
        `--resource ${JSON.stringify(r)} must be an absolute URI without a fragment or spaces (RFC 8707)`,
      );
  }
  if (
    c.tokenLifetime !== undefined &&
    !(Number.isInteger(c.tokenLifetime) && c.tokenLifetime > 0)
  ) {
    throw bad('--token-lifetime must be a positive whole number of seconds');
  }
  if (policy && c.tokenLifetime !== undefined && c.tokenLifetime > policy.maxAccessTokenTtl) {
    // RESP-LIFETIME: refused here rather than capped at the endpoint without a word.
    throw bad(
      `--token-lifetime ${c.tokenLifetime} exceeds the server's cap of ${policy.maxAccessTokenTtl} s (MAX_ACCESS_TOKEN_TTL, from ${policy.source})`,
    );
  }
  for (const issuer of c.issuers ?? []) {
    // JAG-CLIENT-ISSUER: an issuer the server does not trust would let the client redeem nothing.
    if (policy && !policy.trustedIssuers.includes(issuer))
      throw bad(
        `--issuer ${JSON.stringify(issuer)} is not a trusted issuer of this server (trusted: ${policy.trustedIssuers.join(', ') || 'none'}; from ${policy.source})`,
      );
  }
}

/** What a new client may be granted, as its record holds it, whichever way it authenticates. */
function grantFields(c: NewClient) {
  return {
    scopes: [...new Set(c.scopes)],
    resources: [...new Set(c.resources)],
    enabled: true,
    ...(c.tokenLifetime !== undefined && { tokenLifetime: c.tokenLifetime }),
    ...(c.issuers !== undefined && c.issuers.length > 0 && { issuers: [...c.issuers] }),
    ...(c.dpopBoundRequired === true && { dpopBoundRequired: true }),
  };
}

/** The most bytes of JWKS a record holds: a few keys, never a burden on an item or a line. */
const MAX_JWKS_BYTES = 16 * 1024;

/**
 * AUTH-PRIVATE-KEY-JWT: exactly one of a JWKS and a jwks_uri, no secret beside them; a JWKS holds
 * only public keys, at least one of which can verify a client assertion.
 */
async function validateKeys(c: NewClient): Promise<Pick<ClientRecord, 'jwks' | 'jwksUri'>> {
  if (c.clientSecret !== undefined)
    throw bad('a client authenticates with a secret or with keys, not both: drop the secret');
  if (c.jwks !== undefined && c.jwksUri !== undefined)
    throw bad('choose one of --jwks-uri and --jwks-file');
  if (c.jwksUri !== undefined) {
    // What the server will fetch (outbound-fetch.ts), http://localhost included for a demo.
    const url = URL.canParse(c.jwksUri) ? new URL(c.jwksUri) : undefined;
    if (!url || !fetchableUrl(url, true) || url.hash)
      throw bad(
        `--jwks-uri ${JSON.stringify(c.jwksUri)} must be an https URL (http://localhost only for a demo, fetched with CLIENT_METADATA_HTTP_LOCALHOST=1)`,
      );
    return { jwksUri: c.jwksUri };
  }
  const text = JSON.stringify(c.jwks);
  if (text === undefined || Buffer.byteLength(text) > MAX_JWKS_BYTES)
    throw bad(`--jwks-file must hold a JWKS of at most ${MAX_JWKS_BYTES} bytes`);
  const jwks = c.jwks as { keys?: unknown };
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys))
    throw bad('--jwks-file must hold a JWKS: {"keys": [ ... ]}');
  if (jwks.keys.some((k: unknown) => typeof k !== 'object' || k === null || 'd' in k || 'k' in k))
    throw bad('--jwks-file holds a private or symmetric key: register the public keys only');
  if (jwks.keys.length > MAX_CLIENT_KEYS)
    throw bad(`--jwks-file holds ${jwks.keys.length} keys; at most ${MAX_CLIENT_KEYS}`);
  const usable = await usableKeys(
    jwks,
    CLIENT_ASSERTION_ALGORITHMS,
    MAX_CLIENT_KEYS,
    CLIENT_KEY_DEFAULTS,
  );
  if (usable.length === 0)
    throw bad(
      `--jwks-file has no key that can verify a client assertion (give each key its "alg": ${CLIENT_ASSERTION_ALGORITHMS.join(', ')})`,
    );
  return { jwks: { keys: jwks.keys as JWK[] } };
}

export class ClientAdmin {
  constructor(
    private readonly records: ClientRecordStore,
    private readonly secrets: WritableSecretStore,
    /** Where a client's secret is kept: a name under the store's prefix. */
    private readonly secretRefPrefix: string,
    /** The server's policy, when known: registrations it would not honour are refused. */
    private readonly policy: () => Promise<ServerPolicy | undefined> = async () => undefined,
  ) {}

  /** Registers the client and returns it with its secret (generated when none was given). */
  async add(c: NewClient): Promise<{ client: ClientRecord; clientSecret: string }> {
    validateClient(c);
    if (c.jwks !== undefined || c.jwksUri !== undefined)
      throw bad('a client with keys is registered with addKeyClient');
    validateSecret(c.clientSecret);
    validateClient(c, await this.policy());
    const clientSecret = c.clientSecret ?? generateSecret();
    const client: ClientRecord = {
      clientId: c.clientId,
      // A fresh name per registration: registering never overwrites another record's secret.
      secretRef: `${this.secretRefPrefix}${c.clientId}/${randomBytes(6).toString('hex')}`,
      ...grantFields(c),
    };
    // Secret first: a record is never visible without the secret that authenticates it.
    await this.secrets.putSecret(client.secretRef, clientSecret);
    if (!(await this.records.add(client))) {
      await this.secrets.deleteSecret(client.secretRef);
      throw new AdminError(
        `client ${c.clientId} is already registered; remove it first to replace it`,
      );
    }
    return { client, clientSecret };
  }

  /** AUTH-PRIVATE-KEY-JWT: registers a client with keys and no secret (`secretRef` is empty). */
  async addKeyClient(c: NewClient): Promise<ClientRecord> {
    validateClient(c);
    const keys = await validateKeys(c);
    validateClient(c, await this.policy());
    const client: ClientRecord = {
      clientId: c.clientId,
      secretRef: '',
      authMethod: 'private_key_jwt',
      ...keys,
      ...grantFields(c),
    };
    if (!(await this.records.add(client)))
      throw new AdminError(
        `client ${c.clientId} is already registered; remove it first to replace it`,
      );
    return client;
  }

  /** Changes what a client may be granted; its secret and enabled state stay as they are. */
  async update(clientId: string, changes: ClientChanges): Promise<ClientRecord> {
    const current = await this.records.get(clientId);
    if (!current) throw new AdminError(`client ${clientId} is not registered`);
    const rekeyed = changes.jwks !== undefined || changes.jwksUri !== undefined;
    if (rekeyed && current.authMethod !== 'private_key_jwt')
      throw bad(
        `client ${clientId} authenticates with a secret: --jwks-uri and --jwks-file are for clients registered with keys`,
      );
    const keys = rekeyed
      ? await validateKeys({
          clientId,
          scopes: [],
          resources: [],
          ...(changes.jwks !== undefined && { jwks: changes.jwks }),
          ...(changes.jwksUri !== undefined && { jwksUri: changes.jwksUri }),
        })
      : undefined;
    const { tokenLifetime: _lifetime, issuers: _issuers, ...rest } = current;
    // New keys replace the old ones whole: a record holds jwks or jwksUri, never both.
    const { jwks: _jwks, jwksUri: _jwksUri, ...unkeyed } = rest;
    const kept = keys ? unkeyed : rest;
    const lifetime =
      changes.tokenLifetime === undefined ? current.tokenLifetime : changes.tokenLifetime;
    const issuers = changes.issuers === undefined ? current.issuers : changes.issuers;
    const next: ClientRecord = {
      ...kept,
      scopes: [...new Set(changes.scopes ?? current.scopes)],
      resources: [...new Set(changes.resources ?? current.resources)],
      ...(lifetime !== undefined && lifetime !== null && { tokenLifetime: lifetime }),
      ...(issuers !== undefined && issuers.length > 0 && { issuers: [...issuers] }),
      ...keys,
    };
    validateClient(
      {
        ...next,
        // Only what changes is held to today's policy: a field left alone is not this command's.
        tokenLifetime: changes.tokenLifetime ?? undefined,
        issuers: changes.issuers,
      },
      await this.policy(),
    );
    if (!(await this.records.update(next)))
      throw new AdminError(`client ${clientId} is not registered`);
    return next;
  }

  /**
   * AUTH-SECRET: gives the client a new secret (generated unless one is given); the previous one
   * keeps working for `graceSeconds`, then is retired. Returns the new secret and when the grace
   * period ends (absent for no grace).
   */
  async rotateSecret(
    clientId: string,
    options: { clientSecret?: string; graceSeconds: number; now: number },
  ): Promise<{ client: ClientRecord; clientSecret: string; previousUntil?: number }> {
    const { graceSeconds } = options;
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS)
      throw bad(
        `--grace must be a whole number of seconds from 0 to ${MAX_GRACE_SECONDS} (30 days)`,
      );
    validateSecret(options.clientSecret);
    const client = await this.records.get(clientId);
    if (!client) throw new AdminError(`client ${clientId} is not registered`);
    if (client.authMethod === 'private_key_jwt')
      throw new AdminError(
        `client ${clientId} authenticates with private_key_jwt and has no secret: it rotates by publishing a new key${client.jwksUri ? ` at ${client.jwksUri}` : ''}, or with clients update --jwks-file`,
      );
    const clientSecret = options.clientSecret ?? generateSecret();
    const previousUntil = graceSeconds > 0 ? options.now + graceSeconds : undefined;
    if (!(await this.secrets.rotateSecret(client.secretRef, clientSecret, previousUntil)))
      throw new AdminError(
        `client ${clientId} has no secret to rotate (${client.secretRef} is missing): remove the client and add it again`,
      );
    return { client, clientSecret, ...(previousUntil !== undefined && { previousUntil }) };
  }

  get(clientId: string): Promise<ClientRecord | undefined> {
    return this.records.get(clientId);
  }

  list(): Promise<ClientRecord[]> {
    return this.records.list();
  }

  /** A disabled client fails authentication until enabled again; its record and secret stay. */
  async setEnabled(clientId: string, enabled: boolean): Promise<void> {
    if (!(await this.records.setEnabled(clientId, enabled)))
      throw new AdminError(`client ${clientId} is not registered`);
  }

  async remove(clientId: string): Promise<ClientRecord> {
    const removed = await this.records.remove(clientId);
    if (!removed) throw new AdminError(`client ${clientId} is not registered`);
    if (removed.secretRef !== '') await this.secrets.deleteSecret(removed.secretRef);
    return removed;
  }
}
