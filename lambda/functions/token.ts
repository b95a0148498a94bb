/** Lambda entry for POST /token: the TokenService on KMS, DynamoDB and Secrets Manager. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { createTokenHandler } from '../handlers/token.js';
import { createLogger } from '../logging.js';
import { loadTokenFunctionConfig } from '../cdk-shared/aws-config.js';
import { instrumented } from '../aws/instrumented.js';
import { withRetryAfter } from '../aws/retry-after.js';
import { SDK_CLIENT_CONFIG } from '../aws/sdk-config.js';
import { TOKEN_METRICS } from '../cdk-shared/token-metric-names.js';
import { recordTokenOutcome } from '../aws/token-metrics.js';
import { createAwsTokenService } from '../aws/token-service-factory.js';

const SERVICE_NAME = TOKEN_METRICS.serviceName;
const config = loadTokenFunctionConfig(process.env);
const logger = createLogger(SERVICE_NAME);
const metrics = new Metrics({ namespace: config.metricsNamespace, serviceName: SERVICE_NAME });
const tracer = new Tracer({ serviceName: SERVICE_NAME });

// Created once per container and reused by every request (connection reuse, cached credentials).
const clients = {
  kms: tracer.captureAWSv3Client(new KMSClient(SDK_CLIENT_CONFIG)),
  dynamodb: tracer.captureAWSv3Client(new DynamoDBClient(SDK_CLIENT_CONFIG)),
  secretsManager: tracer.captureAWSv3Client(new SecretsManagerClient(SDK_CLIENT_CONFIG)),
};
const { service, warm, retryAfterSeconds } = createAwsTokenService(config, clients, { logger });
await warm();

export const handler = instrumented(
  withRetryAfter(
    createTokenHandler({
      service,
      corsOrigins: config.service.corsOrigins,
      logger,
      onOutcome: recordTokenOutcome(metrics),
    }),
    retryAfterSeconds,
  ),
  { logger, metrics, tracer },
);
