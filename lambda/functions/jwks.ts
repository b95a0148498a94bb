/**
 * Lambda entry for GET /.well-known/jwks.json (JWKS-KEYS): the document the stack published at
 * deploy time (lib/published-jwks.ts), parsed once at start-up and answered from memory. No AWS
 * SDK and no call to KMS at run time: the bundle stays small and a cold start is fast (DISC-CACHE).
 */
import { createJwksHandler } from '../handlers/jwks.js';
import { createLogger } from '../logging.js';
import { loadJwksFunctionConfig } from '../cdk-shared/aws-config.js';
import { instrumented } from '../aws/instrumented.js';

const config = loadJwksFunctionConfig(process.env);
const logger = createLogger();

export const handler = instrumented(
  createJwksHandler({
    // Copies, so a caller cannot change what later callers receive.
    keys: { jwks: async () => ({ keys: config.keys.map((k) => ({ ...k })) }) },
    corsOrigins: config.corsOrigins,
    logger,
  }),
  { logger },
);
