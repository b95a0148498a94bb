/**
 * The handlers wired to real adapters, as the local server wires them: the local store (in memory)
 * for the registry, secrets and replay guard, a generated RSA key for signing, and the test IdP's
 * JWKS over loopback HTTP. Only the clock is held still, so tests can stand at
 * the edges of the skew.
 */
import { rsaPrivateKey } from './test-keys.js';
import { ClientAdmin, type NewClient } from '../../local/admin/client-admin.js';
import { loadServiceConfig, type ServiceConfig } from '../../lambda/config.js';
import { createDiscoveryHandler } from '../../lambda/handlers/discovery.js';
import { createJwksHandler } from '../../lambda/handlers/jwks.js';
import { createTokenHandler, type TokenHandlerDeps } from '../../lambda/handlers/token.js';
import type { Refusal } from '../../lambda/oauth/errors.js';
import type { HttpHandler, HttpResult } from '../../lambda/http/types.js';
import { KeyFileSigner } from '../../lambda/key-file-signer.js';
import { LocalStore } from '../../local/local-store.js';
import type { Log } from '../../lambda/logging.js';
import { remoteClientSources } from '../../lambda/remote/client-sources.js';
import { RemoteIssuerKeys, type IssuerKeysOptions } from '../../lambda/remote/issuer-keys.js';
import { TokenService, type TokenServiceDeps } from '../../lambda/oauth/token-service.js';
import type {
  ClientRegistry,
  Clock,
  ReplayGuard,
  SecretStore,
  Signer,
} from '../../lambda/ports.js';
import { TestIdp } from './test-idp.js';

export const ISSUER = 'https://as.example.test';
export const RESOURCE = 'https://api.example.com/';

export class MemoryLog implements Log {
  readonly lines: Array<{ level: string; message: string; extra: unknown[] }> = [];
  debug = (message: unknown, ...extra: unknown[]) =>
    void this.lines.push({ level: 'debug', message: String(message), extra });
  info = (message: unknown, ...extra: unknown[]) =>
    void this.lines.push({ level: 'info', message: String(message), extra });
  warn = (message: unknown, ...extra: unknown[]) =>
    void this.lines.push({ level: 'warn', message: String(message), extra });
  error = (message: unknown, ...extra: unknown[]) =>
    void this.lines.push({ level: 'error', message: String(message), extra });
  text(): string {
    return JSON.stringify(this.lines);
  }
}

export class FixedClock implements Clock {
  constructor(public t = Math.floor(Date.now() / 1000)) {}
  now(): number {
    return this.t;
  }
}

export interface HarnessOptions {
  env?: Record<string, string>;
  trusted?: Record<string, unknown>;
  issuerKeys?: IssuerKeysOptions;
  /** Wrap a port, e.g. to count calls. */
  signer?: (s: Signer) => Signer;
  replay?: (r: ReplayGuard) => ReplayGuard;
  registry?: (r: ClientRegistry) => ClientRegistry;
  secrets?: (s: SecretStore) => SecretStore;
  dependencyTimeoutMs?: number;
  authFailureFloorMs?: number;
  timing?: TokenServiceDeps['timing'];
  /** Further trusted IdPs, beside the harness's own. */
  moreIssuers?: TestIdp[];
  log?: Log;
}

export class Harness {
  private constructor(
    readonly idp: TestIdp,
    readonly config: ServiceConfig,
    readonly clock: FixedClock,
    /** What the handlers logged (unless options.log took their log lines instead). */
    readonly log: MemoryLog,
    readonly signer: KeyFileSigner,
    readonly admin: ClientAdmin,
    readonly registry: LocalStore,
    readonly secrets: LocalStore,
    readonly token: HttpHandler,
    readonly discovery: HttpHandler,
    readonly jwks: HttpHandler,
    readonly issuerKeys: RemoteIssuerKeys,
    private readonly cleanup: () => Promise<void>,
  ) {}

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const idp = await TestIdp.start();
    try {
      const config = loadServiceConfig({
        ISSUER,
        // Several IdPs need distinct subject prefixes (GRANT-SUBJECT); one IdP needs none.
        TRUSTED_ISSUERS: JSON.stringify(
          options.moreIssuers?.length
            ? [
                idp.trusted({ subject_prefix: 'idp0|', ...options.trusted }),
                ...options.moreIssuers.map((i, n) => i.trusted({ subject_prefix: `idp${n + 1}|` })),
              ]
            : [idp.trusted(options.trusted)],
        ),
        ...options.env,
      });
      const clock = new FixedClock();
      const log = new MemoryLog();
      const handlerLog = options.log ?? log;
      const signer = await KeyFileSigner.fromPrivateKey(rsaPrivateKey());
      const store = LocalStore.memory(clock);
      const [registry, secrets, replay] = [store, store, store];
      const issuerKeys = new RemoteIssuerKeys(config.trustedIssuers, {
        timeoutMs: 5_000, // generous: a loaded machine must not turn a slow loopback fetch into a 503
        ...options.issuerKeys,
      });
      const service = new TokenService({
        config,
        registry: options.registry ? options.registry(registry) : registry,
        secrets: options.secrets ? options.secrets(secrets) : secrets,
        dependencyTimeoutMs: options.dependencyTimeoutMs,
        authFailureFloorMs: options.authFailureFloorMs,
        timing: options.timing,
        signer: options.signer ? options.signer(signer) : signer,
        replay: options.replay ? options.replay(replay) : replay,
        issuerKeys,
        ...remoteClientSources(config),
        clock,
      });
      return new Harness(
        idp,
        config,
        clock,
        log,
        signer,
        new ClientAdmin(registry, secrets, 'client/'),
        registry,
        secrets,
        observedTokenHandler({ service, corsOrigins: config.corsOrigins, logger: handlerLog }),
        createDiscoveryHandler(config),
        createJwksHandler({ keys: signer, corsOrigins: config.corsOrigins, logger: handlerLog }),
        issuerKeys,
        async () => {
          store.close();
          await idp.stop();
        },
      );
    } catch (err) {
      await idp.stop();
      throw err;
    }
  }

  /** Registers a client (defaults: scopes read write admin, the one resource RESOURCE). */
  async addClient(
    overrides: Partial<NewClient> = {},
  ): Promise<{ clientId: string; clientSecret: string }> {
    const { client, clientSecret } = await this.admin.add({
      clientId: `client-${Math.random().toString(36).slice(2, 10)}`,
      scopes: ['read', 'write', 'admin'],
      resources: [RESOURCE],
      ...overrides,
    });
    return { clientId: client.clientId, clientSecret };
  }

  /** An ID-JAG from the test IdP for this server and client, stamped with the harness clock. */
  mint(
    clientId: string,
    claims: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
  ) {
    return this.idp.mint({ audience: ISSUER, clientId, now: this.clock.now() }, claims, header);
  }

  close(): Promise<void> {
    return this.cleanup();
  }
}

export function bodyOf(result: HttpResult): Record<string, unknown> {
  return JSON.parse(result.body ?? 'null') as Record<string, unknown>;
}

const REFUSALS = new WeakMap<HttpResult, Refusal>();

/** The token handler, keeping each refusal (error and reason code) beside its response. */
function observedTokenHandler(deps: Omit<TokenHandlerDeps, 'onOutcome'>): HttpHandler {
  return async (event) => {
    let refusal: Refusal | undefined;
    const handler = createTokenHandler({ ...deps, onOutcome: (r) => (refusal = r) });
    const res = await handler(event);
    if (refusal) REFUSALS.set(res, refusal);
    return res;
  };
}

/** What the harness's token handler told onOutcome about this response; undefined if it issued. */
export function refusalOf(res: HttpResult): Refusal | undefined {
  return REFUSALS.get(res);
}
