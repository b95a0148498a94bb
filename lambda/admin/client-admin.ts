/** Registering, listing and removing clients: the record in the registry, the secret in the store. */
import { randomBytes } from 'node:crypto';
import { isResourceIndicator } from '../oauth/grant.js';
import { CLIENT_ID, SCOPE_TOKEN } from '../oauth/syntax.js';
import type { ClientRecord } from '../ports.js';

export interface ClientRecordStore {
  get(clientId: string): Promise<ClientRecord | undefined>;
  add(client: ClientRecord): Promise<boolean>;
  list(): Promise<ClientRecord[]>;
  remove(clientId: string): Promise<ClientRecord | undefined>;
  setEnabled(clientId: string, enabled: boolean): Promise<boolean>;
}

export interface WritableSecretStore {
  putSecret(ref: string, secret: string): Promise<void>;
  deleteSecret(ref: string): Promise<void>;
}

export interface NewClient {
  readonly clientId: string;
  readonly clientSecret?: string;
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

/** 256 bits from the CSPRNG, base64url: safe in a form body and a Basic header alike. */
function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Checks a new client's fields; throws AdminError (exit code 2) naming the first bad one. */
function validateNewClient(c: NewClient): void {
  const bad = (msg: string) => new AdminError(msg, 2);
  if (!CLIENT_ID.test(c.clientId))
    throw bad('--client-id must be 1-128 characters of A-Z a-z 0-9 . _ @ + = -');
  if (
    c.clientSecret !== undefined &&
    (c.clientSecret.length < MIN_SECRET_LENGTH || !/^[\x20-\x7E]+$/.test(c.clientSecret))
  ) {
    throw bad(
      `--client-secret must be at least ${MIN_SECRET_LENGTH} printable ASCII characters (or leave it out to generate one)`,
    );
  }
  if (c.scopes.length === 0) throw bad('--scope must name at least one scope');
  for (const s of c.scopes)
    if (!SCOPE_TOKEN.test(s)) throw bad(`--scope ${JSON.stringify(s)} is not a valid scope token`);
  if (c.resources.length === 0)
    throw bad('--resource is required (an absolute URI; repeat it for several)');
  for (const r of c.resources) {
    if (!isResourceIndicator(r))
      throw bad(`--resource ${JSON.stringify(r)} must be an absolute URI without a fragment`);
  }
  if (
    c.tokenLifetime !== undefined &&
    !(Number.isInteger(c.tokenLifetime) && c.tokenLifetime > 0)
  ) {
    throw bad('--token-lifetime must be a positive whole number of seconds');
  }
}

export class ClientAdmin {
  constructor(
    private readonly records: ClientRecordStore,
    private readonly secrets: WritableSecretStore,
    /** Where a client's secret is kept: a name under the store's prefix. */
    private readonly secretRefPrefix: string,
  ) {}

  /** Registers the client and returns it with its secret (generated when none was given). */
  async add(c: NewClient): Promise<{ client: ClientRecord; clientSecret: string }> {
    validateNewClient(c);
    const clientSecret = c.clientSecret ?? generateSecret();
    const client: ClientRecord = {
      clientId: c.clientId,
      // A fresh name per registration: registering never overwrites another record's secret.
      secretRef: `${this.secretRefPrefix}${c.clientId}/${randomBytes(6).toString('hex')}`,
      scopes: [...new Set(c.scopes)],
      resources: [...new Set(c.resources)],
      enabled: true,
      ...(c.tokenLifetime !== undefined && { tokenLifetime: c.tokenLifetime }),
      ...(c.issuers !== undefined && c.issuers.length > 0 && { issuers: [...c.issuers] }),
      ...(c.dpopBoundRequired === true && { dpopBoundRequired: true }),
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
    await this.secrets.deleteSecret(removed.secretRef);
    return removed;
  }
}
