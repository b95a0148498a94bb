/**
 * AWS calls as they reach the wire, recorded by a loopback proxy in front of moto, and what IAM
 * decides each of them on: the action, the resource ARN and the condition keys the request carries.
 *
 *   const recorder = await AwsCallRecorder.start(moto.endpoint);
 *   new DynamoDBClient({ endpoint: recorder.endpoint, credentials: { accessKeyId: 'AKIATOKEN', ... } });
 *   ... drive the component ...
 *   recorder.calls            // AwsCall[]: who signed (accessKeyId), service, action, params, ...
 *   iamRequestsOf(call)       // IamRequest[]: what AWS authorizes for it (see evaluate-calls.ts)
 *
 * A proxy rather than SDK middleware: it needs nothing from the code under test, so it records the
 * synthesized Lambda bundles (AWS_ENDPOINT_URL) as well as the TypeScript sources. Requests go on
 * byte for byte, the Host header included, so moto can still check SigV4 signatures when it
 * enforces IAM. The signer is known by the access key id of the SigV4 credential: give each
 * component credentials of its own, as each Lambda function gets its role's.
 *
 * Services: the JSON protocols (X-Amz-Target: DynamoDB, KMS, Secrets Manager) and the query
 * protocol (Action= in the form body: CloudFormation). A call whose resource cannot be derived
 * (a service or operation not listed in iamRequestsOf) yields a request without a resource, which
 * evaluate-calls.ts reports as a failure rather than skipping it.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One AWS API call. The shape is also what test/support/bundles.ts records (`caller`, `action`,
 * `params`), so its calls can be evaluated as they are; `region` and `response` are optional.
 */
export interface AwsCall {
  /** Who signed it: the access key id of the SigV4 credential. */
  readonly accessKeyId: string;
  /** A name for the signer, when the recorder knows one. */
  readonly caller?: string;
  /** The SigV4 signing name: `dynamodb`, `kms`, `secretsmanager`, `cloudformation`. */
  readonly service: string;
  /** The SigV4 credential scope's region. */
  readonly region?: string;
  /** The API operation: `PutItem`, `Sign`, `GetSecretValue`, `DescribeStacks`. */
  readonly action: string;
  /** The request: the JSON body, or the query protocol's form fields. */
  readonly params: Record<string, unknown>;
  readonly status: number;
  /** The error type the service answered with (`ConditionalCheckFailedException`). */
  readonly errorType?: string;
  /**
   * The answer: parsed JSON, or the text of an XML one. Resources named by a short name are read
   * from it (a secret's full ARN, a KMS key's ARN, a stack's id), as AWS authorizes the resource.
   */
  readonly response?: unknown;
  /** Answered by the recorder itself (failNext), never reaching moto. */
  readonly injected?: boolean;
}

/** What AWS authorizes for a call: one call may need several (CreateSecret with tags). */
export interface IamRequest {
  /** `dynamodb:PutItem` */
  readonly action: string;
  /** The resource's ARN; undefined when this module cannot tell it (reported as a failure). */
  readonly resource: string | undefined;
  /** Condition keys the request itself carries (kms:SigningAlgorithm, aws:RequestTag/...). */
  readonly context: Readonly<Record<string, string | string[]>>;
}

export interface InjectedError {
  readonly type: string;
  readonly message?: string;
  /** @default 500 */
  readonly status?: number;
}

export class AwsCallRecorder {
  readonly calls: AwsCall[] = [];
  private readonly callers = new Map<string, string>();
  private readonly faults: Array<{ match: (c: AwsCall) => boolean; error: InjectedError }> = [];

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    /** Give this to the SDK clients (or AWS_ENDPOINT_URL) instead of moto's address. */
    readonly endpoint: string,
  ) {}

  static async start(target: string): Promise<AwsCallRecorder> {
    const to = new URL(target);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const recorder = new AwsCallRecorder(server, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const call = parseRequest(req.headers, body);
        const fault = recorder.takeFault({ ...call, status: 0 });
        if (fault) {
          const status = fault.status ?? 500;
          recorder.record(call, status, { __type: fault.type, message: fault.message }, true);
          res
            .writeHead(status, {
              'content-type': 'application/x-amz-json-1.1',
              'x-amzn-errortype': fault.type,
            })
            .end(JSON.stringify({ __type: fault.type, message: fault.message ?? 'injected' }));
          return;
        }
        const out = httpRequest(
          {
            host: to.hostname,
            port: to.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (answer) => {
            const back: Buffer[] = [];
            answer.on('data', (c: Buffer) => back.push(c));
            answer.on('end', () => {
              const reply = Buffer.concat(back);
              recorder.record(call, answer.statusCode ?? 0, parseBody(reply));
              const headers = { ...answer.headers };
              delete headers['transfer-encoding'];
              delete headers.connection;
              res
                .writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': reply.length })
                .end(reply);
            });
          },
        );
        out.on('error', (err) => res.writeHead(502).end(String(err)));
        out.end(body);
      });
    });
    return recorder;
  }

  /** Names the signer of `accessKeyId` in the calls it makes from now on (AwsCall.caller). */
  name(accessKeyId: string, caller: string): this {
    this.callers.set(accessKeyId, caller);
    return this;
  }

  /**
   * Answers the next call that matches with `error` instead of forwarding it: a service failure
   * moto cannot produce (KMS failing a Sign, say). The call is still recorded: AWS authorizes a
   * request before it fails it.
   */
  failNext(match: (call: AwsCall) => boolean, error: InjectedError): void {
    this.faults.push({ match, error });
  }

  /** The calls signed with `accessKeyId`. */
  callsBy(accessKeyId: string): AwsCall[] {
    return this.calls.filter((c) => c.accessKeyId === accessKeyId);
  }

  clear(): void {
    this.calls.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeFault(call: AwsCall): InjectedError | undefined {
    const i = this.faults.findIndex((f) => f.match(call));
    return i < 0 ? undefined : this.faults.splice(i, 1)[0]!.error;
  }

  private record(
    call: Omit<AwsCall, 'status'>,
    status: number,
    response: unknown,
    injected = false,
  ): void {
    const caller = this.callers.get(call.accessKeyId);
    this.calls.push({
      ...call,
      ...(caller !== undefined && { caller }),
      status,
      response,
      ...(status >= 400 && { errorType: errorTypeOf(response) }),
      ...(injected && { injected }),
    });
  }
}

function parseRequest(headers: IncomingHttpHeaders, body: Buffer): Omit<AwsCall, 'status'> {
  const auth = String(headers.authorization ?? '');
  const [, accessKeyId = '', region = '', service = ''] =
    /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth) ?? [];
  const text = body.toString('utf8');
  const target = headers['x-amz-target'];
  if (typeof target === 'string') {
    let params: Record<string, unknown> = {};
    try {
      params = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // a body that is not JSON: the action still says what was asked
    }
    return { accessKeyId, region, service, action: target.split('.').pop() ?? '', params };
  }
  // The query protocol: every parameter a form field (Tags.member.1.Key=...), kept flat.
  const params = Object.fromEntries(new URLSearchParams(text));
  const action = params.Action ?? '';
  delete params.Action;
  delete params.Version;
  return { accessKeyId, region, service, action, params };
}

function parseBody(reply: Buffer): unknown {
  const text = reply.toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorTypeOf(response: unknown): string {
  if (response && typeof response === 'object') {
    const type = (response as { __type?: unknown }).__type;
    if (typeof type === 'string') return type.split('#').pop()!;
  }
  if (typeof response === 'string') {
    const code = /<Code>([^<]+)<\/Code>/.exec(response)?.[1];
    if (code) return code;
  }
  return 'unparsed';
}

// ---------------------------------------------------------------------------------------------
// What IAM authorizes for a call

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The IAM requests AWS makes for `call`: the action, the resource and the condition keys the
 * request carries. `account` is the resources' account (moto's default unless told otherwise).
 */
export function iamRequestsOf(call: AwsCall, account: string, partition = 'aws'): IamRequest[] {
  const region = call.region || 'us-east-1';
  const action = `${call.service}:${call.action}`;
  const p = call.params;
  const response =
    call.response && typeof call.response === 'object'
      ? (call.response as Record<string, unknown>)
      : {};
  const arn = (service: string, resource: string) =>
    `arn:${partition}:${service}:${region}:${account}:${resource}`;
  const only = (resource: string | undefined, context: Record<string, string | string[]> = {}) => [
    { action, resource, context },
  ];

  switch (call.service) {
    case 'dynamodb': {
      const context: Record<string, string | string[]> = {};
      for (const key of ['ReturnValues', 'Select', 'ReturnConsumedCapacity'] as const) {
        const v = str(p[key]);
        if (v) context[`dynamodb:${key}`] = v;
      }
      const table = (name: string) =>
        name.startsWith('arn:') ? name : arn('dynamodb', `table/${name}`);
      const name = str(p.TableName);
      if (name) return only(table(name), context);
      // BatchGetItem, BatchWriteItem: one request per table named.
      const items = p.RequestItems;
      if (items && typeof items === 'object')
        return Object.keys(items).map((n) => ({ action, resource: table(n), context }));
      return only(undefined);
    }
    case 'kms': {
      const context: Record<string, string | string[]> = { 'kms:CallerAccount': account };
      for (const [param, key] of [
        ['SigningAlgorithm', 'kms:SigningAlgorithm'],
        ['MessageType', 'kms:MessageType'],
        ['EncryptionAlgorithm', 'kms:EncryptionAlgorithm'],
      ] as const) {
        const v = str(p[param]);
        if (v) context[key] = v;
      }
      // KMS's default when a Sign request leaves it out.
      if (call.action === 'Sign' && !context['kms:MessageType']) context['kms:MessageType'] = 'RAW';
      // Each member of an Encrypt/Decrypt's encryption context is a condition key, and so is the
      // list of their names (the wrapped-key mode's key policies condition on both).
      const encryption = p.EncryptionContext as Record<string, unknown> | undefined;
      if (encryption && typeof encryption === 'object') {
        for (const [k, v] of Object.entries(encryption))
          if (typeof v === 'string') context[`kms:EncryptionContext:${k}`] = v;
        context['kms:EncryptionContextKeys'] = Object.keys(encryption);
      }
      const keyId = str(p.KeyId);
      if (keyId === undefined) return only(call.action === 'CreateKey' ? '*' : undefined, context);
      if (keyId.startsWith('alias/') || keyId.includes(':alias/')) {
        context['kms:RequestAlias'] = keyId.replace(/^arn:[^:]+:kms:[^:]*:[^:]*:/, '');
      }
      // The key's ARN as KMS answers it: the request may name the key by id or alias.
      const answered = str(response.KeyId);
      if (answered?.startsWith('arn:')) return only(answered, context);
      if (keyId.startsWith('arn:') && keyId.includes(':key/')) return only(keyId, context);
      if (/^[0-9a-f-]{36}$/i.test(keyId) || /^mrk-/.test(keyId))
        return only(arn('kms', `key/${keyId}`), context);
      return only(undefined, context);
    }
    case 'secretsmanager': {
      const context: Record<string, string | string[]> = {};
      const id = str(p.SecretId) ?? str(p.Name);
      if (str(p.SecretId)) context['secretsmanager:SecretId'] = str(p.SecretId)!;
      if (str(p.Name)) context['secretsmanager:Name'] = str(p.Name)!;
      if (str(p.VersionStage)) context['secretsmanager:VersionStage'] = str(p.VersionStage)!;
      if (str(p.VersionId)) context['secretsmanager:VersionId'] = str(p.VersionId)!;
      if (str(p.Description)) context['secretsmanager:Description'] = str(p.Description)!;
      if (str(p.KmsKeyId)) context['secretsmanager:KmsKeyId'] = str(p.KmsKeyId)!;
      const tags = Array.isArray(p.Tags) ? (p.Tags as Array<{ Key?: string; Value?: string }>) : [];
      const tagContext: Record<string, string | string[]> = {};
      for (const t of tags) if (t.Key) tagContext[`aws:RequestTag/${t.Key}`] = t.Value ?? '';
      if (tags.length) tagContext['aws:TagKeys'] = tags.map((t) => t.Key ?? '');
      // Secrets Manager authorizes the full ARN (name plus a random suffix), which the answer
      // carries; a call that failed before naming it is authorized by name.
      // (moto answers some operations with the name in ARN: only an ARN is taken.)
      const answered = str(response.ARN);
      const resource =
        (answered?.startsWith('arn:') ? answered : undefined) ??
        (id === undefined
          ? undefined
          : id.startsWith('arn:')
            ? id
            : arn('secretsmanager', `secret:${id}`));
      if (call.action === 'CreateSecret' && tags.length)
        // CreateSecret with tags also needs TagResource, for the same tags.
        return [
          { action, resource, context: { ...context, ...tagContext } },
          { action: 'secretsmanager:TagResource', resource, context: tagContext },
        ];
      return only(resource, { ...context, ...tagContext });
    }
    case 'cloudformation': {
      const name = str(p.StackName);
      const answered =
        typeof call.response === 'string'
          ? /<StackId>([^<]+)<\/StackId>/.exec(call.response)?.[1]
          : undefined;
      if (answered) return only(answered);
      if (name === undefined) return only(undefined);
      // A stack ARN ends in an id CloudFormation assigns: a name alone matches any of them.
      return only(name.startsWith('arn:') ? name : arn('cloudformation', `stack/${name}/*`));
    }
    default:
      return only(undefined);
  }
}
