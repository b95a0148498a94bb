/**
 * Lambda entry for the JWKS publisher custom resource (deploy time only): KMS GetPublicKey for
 * every signing key, the JWKS document back to CloudFormation.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { createJwksPublisher } from '../aws/jwks-publisher.js';
import { SDK_CLIENT_CONFIG } from '../aws/sdk-config.js';

export const handler = createJwksPublisher(new KMSClient(SDK_CLIENT_CONFIG));
