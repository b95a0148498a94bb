/**
 * The local server: the Lambda handlers behind node:http, on embedded defaults under DATA_DIR —
 * dynalite for the client registry and replay guard, a key file for signing, a file for secrets.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { LocalConfig } from '../config.js';
import { DynamoDbClientRegistry } from '../aws/dynamodb-client-registry.js';
import { DynamoDbReplayGuard } from '../aws/dynamodb-replay-guard.js';
import { createAuthorizeHandler } from '../handlers/authorize.js';
import { createDiscoveryHandler } from '../handlers/discovery.js';
import { createJwksHandler } from '../handlers/jwks.js';
import { createTokenHandler } from '../handlers/token.js';
import { describeError, type Log } from '../logging.js';
import { RemoteIssuerKeys, type IssuerKeysOptions } from '../remote/issuer-keys.js';
import { PATHS } from '../oauth/metadata.js';
import { TokenService } from '../oauth/token-service.js';
import { systemClock, type Clock } from '../ports.js';
import { bridge } from './http-bridge.js';
import { FileSecretStore } from './file-secret-store.js';
import { KeyFileSigner } from './key-file-signer.js';
import { LOCAL_TABLES, serveLocalDynamo } from './local-dynamodb.js';

export const localPaths = (dataDir: string) => ({
  signingKey: join(dataDir, 'signing-key.pem'),
  secrets: join(dataDir, 'client-secrets.json'),
});

export interface LocalServer {
  /** Where the server listens (which may differ from the issuer, e.g. behind a tunnel). */
  readonly url: string;
  readonly server: Server;
  readonly issuerKeys: RemoteIssuerKeys;
  close(): Promise<void>;
}

export interface LocalServerOptions {
  readonly logger: Log;
  readonly clock?: Clock;
  readonly issuerKeys?: IssuerKeysOptions;
}

export async function startLocalServer(
  config: LocalConfig,
  options: LocalServerOptions,
): Promise<LocalServer> {
  const { logger } = options;
  const paths = localPaths(config.dataDir);
  // Start every trusted issuer's JWKS fetch first: it runs while the rest starts, and an issuer that
  // cannot be reached (an offline laptop) is logged and fetched again on demand.
  const issuerKeys = new RemoteIssuerKeys(config.trustedIssuers, {
    onFetchError: (issuer, err) =>
      logger.warn('trusted issuer JWKS fetch failed', { issuer, cause: describeError(err) }),
    ...options.issuerKeys,
  });
  void issuerKeys.warm();

  const [dynamo, signer] = await Promise.all([
    serveLocalDynamo(config.dataDir),
    KeyFileSigner.open(paths.signingKey),
  ]);
  const service = new TokenService({
    config,
    registry: new DynamoDbClientRegistry(dynamo.db, LOCAL_TABLES.clients),
    secrets: new FileSecretStore(paths.secrets),
    signer,
    replay: new DynamoDbReplayGuard(dynamo.db, LOCAL_TABLES.replay),
    issuerKeys,
    clock: options.clock ?? systemClock,
  });
  const discovery = createDiscoveryHandler(config);
  const routes = new Map([
    [PATHS.oauthMetadata, discovery],
    [PATHS.openidConfiguration, discovery],
    [PATHS.jwks, createJwksHandler({ keys: signer, corsOrigins: config.corsOrigins, logger })],
    [PATHS.token, createTokenHandler({ service, corsOrigins: config.corsOrigins, logger })],
    [PATHS.authorize, createAuthorizeHandler(config)],
  ]);

  const server = createServer(
    bridge(routes, (err) => logger.error('request failed', { cause: describeError(err) })),
  );
  server.listen(config.port, config.host);
  try {
    await once(server, 'listening');
  } catch (err) {
    await dynamo.close();
    throw err;
  }
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    server,
    issuerKeys,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dynamo.close();
    },
  };
}
