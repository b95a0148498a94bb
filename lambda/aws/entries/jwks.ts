/** Lambda entry for GET /.well-known/jwks.json: the listed KMS keys' public halves (JWKS-KEYS). */
import { KMSClient } from '@aws-sdk/client-kms';
import { createJwksHandler } from '../../handlers/jwks.js';
import { createLogger } from '../../logging.js';
import { loadJwksFunctionConfig } from '../aws-config.js';
import { instrumented } from '../instrumented.js';
import { KmsPublicKeys } from '../kms-public-keys.js';
import { SDK_CLIENT_CONFIG } from '../sdk-config.js';

const config = loadJwksFunctionConfig(process.env);
const logger = createLogger();
const keys = new KmsPublicKeys(new KMSClient(SDK_CLIENT_CONFIG), config.publicKeyIds);
// Fetched during init (which runs at full CPU): a resource server's first JWKS request, often a
// cold start, is then answered from memory.
await keys.warm();

export const handler = instrumented(
  createJwksHandler({ keys, corsOrigins: config.service.corsOrigins, logger }),
  { logger },
);
