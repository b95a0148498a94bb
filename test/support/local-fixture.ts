/** The local server on a temporary DATA_DIR, trusting a loopback test IdP, with clients added by the admin command. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdmin } from '../../bin/admin.js';
import { loadLocalConfig } from '../../lambda/config.js';
import { startLocalServer, type LocalServer } from '../../local/server.js';
import { MemoryLog } from './harness.js';
import { freePort } from './processes.js';
import { TestIdp } from './test-idp.js';
import { rsaPrivateKeyPem } from './test-keys.js';

export const LOCAL_ISSUER = 'http://localhost:3000';

export interface RegisteredClient {
  readonly client_id: string;
  readonly client_secret: string;
}

/** A client registered with keys (AUTH-PRIVATE-KEY-JWT): `clients add --json` says no secret. */
export interface RegisteredKeyClient {
  readonly client_id: string;
  readonly token_endpoint_auth_method: 'private_key_jwt';
  readonly jwks?: unknown;
  readonly jwks_uri?: string;
}

export class LocalFixture {
  private constructor(
    readonly idp: TestIdp,
    readonly dataDir: string,
    readonly env: Record<string, string>,
    public server: LocalServer,
  ) {}

  /**
   * `issuerIsUrl`: the issuer is the URL the server listens on, as third-party clients need it to
   * be (they fetch discovery from the issuer and compare it byte for byte). `trusted`: options of
   * the test IdP's TRUSTED_ISSUERS entry (e.g. `default_scope`). `env`: any other variable (e.g.
   * CLIENT_METADATA_DOCUMENTS, CLIENT_METADATA_HTTP_LOCALHOST), applied last.
   */
  static async start(
    options: {
      issuerIsUrl?: boolean;
      env?: Record<string, string>;
      trusted?: Record<string, unknown>;
    } = {},
  ): Promise<LocalFixture> {
    const idp = await TestIdp.start();
    const dataDir = await mkdtemp(join(tmpdir(), 'xaa-local-'));
    // The server's own key file, from the test key pool: the server would otherwise generate one.
    await writeFile(join(dataDir, 'signing-key.pem'), rsaPrivateKeyPem(), { mode: 0o600 });
    const port = options.issuerIsUrl ? await freePort() : 0;
    const env = {
      DATA_DIR: dataDir,
      PORT: String(port),
      ISSUER: options.issuerIsUrl ? `http://localhost:${port}` : LOCAL_ISSUER,
      TRUSTED_ISSUERS: JSON.stringify([idp.trusted(options.trusted)]),
      ...options.env,
    };
    return new LocalFixture(
      idp,
      dataDir,
      env,
      await startLocalServer(loadLocalConfig(env), { logger: new MemoryLog() }),
    );
  }

  /** Registers a client through `npm run admin`'s own code, while the server runs. */
  async addClient(
    clientId = `c${Math.random().toString(36).slice(2, 9)}`,
    scope = 'read write',
    resources: readonly string[] = ['https://api.example.com/'],
  ): Promise<RegisteredClient> {
    const lines: string[] = [];
    await runAdmin(
      [
        'clients',
        'add',
        '--client-id',
        clientId,
        '--scope',
        scope,
        ...resources.flatMap((r) => ['--resource', r]),
        '--json',
      ],
      this.env,
      (l) => lines.push(l),
    );
    return JSON.parse(lines.join('\n')) as RegisteredClient;
  }

  /**
   * Registers a client that authenticates with its own key (`clients add --jwks-file FILE` or
   * `--jwks-uri URL`), through `npm run admin`'s own code.
   */
  async addKeyClient(
    clientId: string,
    scope: string,
    resources: readonly string[],
    keys: { jwks: unknown } | { jwks_uri: string },
  ): Promise<RegisteredKeyClient> {
    const dir = await mkdtemp(join(tmpdir(), 'xaa-jwks-'));
    try {
      let keyArgs: string[];
      if ('jwks' in keys) {
        const file = join(dir, 'jwks.json');
        await writeFile(file, JSON.stringify(keys.jwks));
        keyArgs = ['--jwks-file', file];
      } else {
        keyArgs = ['--jwks-uri', keys.jwks_uri];
      }
      const lines: string[] = [];
      await runAdmin(
        [
          'clients',
          'add',
          '--client-id',
          clientId,
          '--scope',
          scope,
          ...resources.flatMap((r) => ['--resource', r]),
          ...keyArgs,
          '--json',
        ],
        this.env,
        (l) => lines.push(l),
      );
      return JSON.parse(lines.join('\n')) as RegisteredKeyClient;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The registered clients' ids, as `clients list --json` gives them. */
  async clientIds(): Promise<string[]> {
    const lines: string[] = [];
    await runAdmin(['clients', 'list', '--json'], this.env, (l) => lines.push(l));
    return (JSON.parse(lines.join('\n')) as Array<{ client_id: string }>).map((c) => c.client_id);
  }

  /**
   * Restarts the server with other options in the test IdP's TRUSTED_ISSUERS entry (the clients
   * registered so far stay). `trustIdp({})` puts the defaults back.
   */
  async trustIdp(options: Record<string, unknown>): Promise<void> {
    this.env.TRUSTED_ISSUERS = JSON.stringify([this.idp.trusted(options)]);
    await this.restart();
  }

  mint(clientId: string, claims: Record<string, unknown> = {}): Promise<string> {
    return this.idp.mint({ audience: this.issuer, clientId }, claims);
  }

  get issuer(): string {
    return this.env.ISSUER!;
  }

  async restart(): Promise<void> {
    await this.server.close();
    this.server = await startLocalServer(loadLocalConfig(this.env), { logger: new MemoryLog() });
  }

  async close(): Promise<void> {
    await this.server.close();
    await this.idp.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
