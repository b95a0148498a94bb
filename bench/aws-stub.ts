/**
 * AWS answered locally, for the cold-start and signing-mode measurements: just enough of KMS,
 * DynamoDB and Secrets Manager on their JSON wire protocols, plus a trusted IdP's JWKS. Each
 * operation answers at once or after the delay `delays` gives it (the latency model of
 * docs/performance.md section 6), and is counted: `GET /counts` returns the calls so far by operation.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface AwsStub {
  readonly url: string;
  readonly server: Server;
}

/** What a wrapped-key secret holds and what KMS Decrypt returns for it (wrapped-signing-key.ts). */
export interface WrappedKeyFixture {
  readonly secretId: string;
  /** The secret's value, JSON in the format parseWrappedKeySecret reads. */
  readonly secretString: string;
  /** base64 of the PKCS#8 DER private key: Decrypt's Plaintext. */
  readonly plaintext: string;
}

export interface AwsStubOptions {
  idpJwks: unknown;
  client: Record<string, unknown>;
  secret: string;
  wrapped?: WrappedKeyFixture;
  /** Milliseconds before each operation answers, by X-Amz-Target (`TrentService.Sign`, ...). */
  delays?: Readonly<Record<string, number>>;
}

export async function startAwsStub(options: AwsStubOptions): Promise<AwsStub> {
  const kmsKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = (kmsKey.publicKey as KeyObject)
    .export({ type: 'spki', format: 'der' })
    .toString('base64');
  const counts: Record<string, number> = {};
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
      if (req.url === '/counts') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
        return;
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      counts[target] = (counts[target] ?? 0) + 1;
      const input = body ? (JSON.parse(body) as Record<string, string>) : {};
      const delay = options.delays?.[target] ?? 0;
      const reply = (contentType: string, value: unknown) => {
        const send = () =>
          res.writeHead(200, { 'content-type': contentType }).end(JSON.stringify(value));
        if (delay > 0) setTimeout(send, delay);
        else send();
      };
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
        case 'TrentService.Decrypt':
          if (!options.wrapped) break;
          return reply('application/x-amz-json-1.1', {
            KeyId: input.KeyId,
            Plaintext: options.wrapped.plaintext,
            EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
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
            SecretString:
              options.wrapped && input.SecretId === options.wrapped.secretId
                ? options.wrapped.secretString
                : options.secret,
            VersionId: 'v1',
            VersionStages: ['AWSCURRENT'],
            CreatedDate: 0,
          });
      }
      res
        .writeHead(400, { 'content-type': 'application/x-amz-json-1.1' })
        .end(JSON.stringify({ __type: 'UnknownOperationException', message: target }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** The calls the stub has answered, by operation. */
export async function stubCounts(url: string): Promise<Record<string, number>> {
  return (await (await fetch(`${url}/counts`)).json()) as Record<string, number>;
}

/**
 * `node --import tsx bench/aws-stub.ts OPTIONS_JSON`: the stub in a process of its own, so that
 * what the process under test spends on CPU is its own work and not the stub's (the RSA
 * signatures KMS makes, for one). Prints the URL on its first line of stdout.
 */
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const stub = await startAwsStub(JSON.parse(process.argv[2]!) as AwsStubOptions);
  process.stdout.write(`${stub.url}\n`);
}
