/**
 * Lambda entry for the wrapped signing key custom resource (deploy time only, wrapped-key mode):
 * an RSA key pair made here, its private half stored only as KMS ciphertext in Secrets Manager.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createWrappedKeyGenerator } from '../aws/wrapped-key-generator.js';
import { SDK_CLIENT_CONFIG } from '../aws/sdk-config.js';

export const handler = createWrappedKeyGenerator(
  new KMSClient(SDK_CLIENT_CONFIG),
  new SecretsManagerClient(SDK_CLIENT_CONFIG),
);
