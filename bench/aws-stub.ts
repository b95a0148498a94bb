/**
 * AWS answered locally at zero latency, for the cold-start measurement: just enough of KMS,
 * DynamoDB and Secrets Manager on their JSON wire protocols, plus a trusted IdP's JWKS.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface AwsStub {
  readonly url: string;
  readonly server: Server;
}

export async function startAwsStub(options: {
  idpJwks: unknown;
  client: Record<string, unknown>;
  secret: string;
}): Promise<AwsStub> {
  const kmsKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = (kmsKey.publicKey as KeyObject)
    .export({ type: 'spki', format: 'der' })
    .toString('base64');
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/jwks') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(options.idpJwks));
        return;
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      const input = body ? (JSON.parse(body) as Record<string, string>) : {};
      const reply = (contentType: string, value: unknown) =>
        res.writeHead(200, { 'content-type': contentType }).end(JSON.stringify(value));
      switch (target) {
        case 'TrentService.GetPublicKey':
          return reply('application/x-amz-json-1.1', {
            KeyId: input.KeyId,
            PublicKey: spki,
            KeySpec: 'RSA_2048',
            KeyUsage: 'SIGN_VERIFY',
            SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256'],
          });
        case 'TrentService.Sign':
          return reply('application/x-amz-json-1.1', {
            KeyId: input.KeyId,
            SigningAlgorithm: input.SigningAlgorithm,
            Signature: sign(
              'sha256',
              Buffer.from(input.Message!, 'base64'),
              kmsKey.privateKey,
            ).toString('base64'),
          });
        case 'DynamoDB_20120810.GetItem':
          return reply('application/x-amz-json-1.0', { Item: options.client });
        case 'DynamoDB_20120810.PutItem':
        case 'DynamoDB_20120810.DeleteItem':
          return reply('application/x-amz-json-1.0', {});
        case 'secretsmanager.GetSecretValue':
          return reply('application/x-amz-json-1.1', {
            ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${input.SecretId}-AbCdEf`,
            Name: input.SecretId,
            SecretString: options.secret,
            VersionId: 'v1',
            VersionStages: ['AWSCURRENT'],
            CreatedDate: 0,
          });
        default:
          res
            .writeHead(400, { 'content-type': 'application/x-amz-json-1.1' })
            .end(JSON.stringify({ __type: 'UnknownOperationException', message: target }));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
