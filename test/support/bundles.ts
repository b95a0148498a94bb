/**
 * The Lambda bundles `cdk synth` writes, run as Lambda runs them: each function in its own Node
 * process (lambda-runner.mjs) with the environment the template gives it plus the variables the
 * Lambda runtime adds, and credentials of its own, so that its AWS calls can be told apart on
 * their way to moto (test/support/iam/aws-call-recorder.ts) and weighed against its role.
 *
 * Why a process per function rather than `import()` inside the jest worker: the bundles read
 * process.env at module scope (configuration, Powertools, the SDK's lazily resolved endpoint and
 * credentials), so two functions in one process would read each other's variables; a module is
 * evaluated once per process, so a second "container" of the same function would be the first one
 * again; NODE_OPTIONS (the template sets --enable-source-maps) only takes effect at a process's
 * start; and jest's vm-modules loader and sandboxed globals are not what the runtime uses.
 * Invocations travel over the IPC channel, not stdin/stdout: stdout is the function's log stream
 * (Powertools' JSON lines and EMF metrics), kept whole for the tests to read.
 *
 *   const synth = synthesizeBundles(config, outdir);          // bundling on, as `cdk synth`
 *   const fn = synth.fn('TokenFunction');                     // asset dir, variables, role id
 *   const token = await LambdaContainer.start(fn, {
 *     variables: policies.environmentOf(fn.logicalId),        // resolved (iam/template-policies)
 *     region, credentials: functionCredentials(), awsEndpoint: recorder.endpoint,
 *   });
 *   const res = await token.http(tokenEvent({ ... }));        // API Gateway payload 2.0
 *   token.output; token.jsonLines();                          // its log stream
 *   await token.stop();
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpEvent, HttpResult } from '../../lambda/http/types.js';
import { buildStack, local } from '../lib/stack-fixture.js';
import type { CfnTemplate } from './iam/template-policies.js';

// ---------------------------------------------------------------------------------------------
// The template

type Resource = CfnTemplate['Resources'][string] & { readonly Metadata?: Record<string, unknown> };

/** A function of the template whose code is one of our bundles (not CDK's prebuilt ones). */
export interface BundledFunction {
  readonly logicalId: string;
  /** The logical id within the server construct, without its hash: `TokenFunction`. */
  readonly name: string;
  /** The staged asset directory: index.mjs and its source map. */
  readonly assetDir: string;
  readonly handler: string;
  /** The template's Environment.Variables, intrinsics unresolved. */
  readonly variables: Record<string, unknown>;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  readonly tracing: boolean;
  /** The logical id of the role the function runs as (Role: Fn::GetAtt [id, Arn]). */
  readonly roleLogicalId: string;
}

export interface SynthesizedBundles {
  readonly stackName: string;
  readonly template: CfnTemplate;
  readonly functions: readonly BundledFunction[];
  /** The one bundled function whose logical id (within the construct) starts with `prefix`. */
  fn(prefix: string): BundledFunction;
}

/**
 * Synthesizes the app's stack with bundling on into `outdir`, as `cdk synth` does, and finds each
 * bundled function's asset directory from its Code in the template.
 */
export function synthesizeBundles(
  config: Record<string, unknown>,
  outdir: string,
): SynthesizedBundles {
  const { app, stack } = buildStack(config, { bundle: true, outdir });
  const template = app.synth().getStackByName(stack.stackName).template as CfnTemplate;
  const functions: BundledFunction[] = [];
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const p = r.Properties ?? {};
    const assetDir = assetDirOf(outdir, r as Resource);
    if (!assetDir || !existsSync(join(assetDir, 'index.mjs'))) continue; // CDK's own handlers
    const role = (p.Role as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
    if (!role) throw new Error(`${logicalId}: Role is not a GetAtt of a role in the template`);
    functions.push({
      logicalId,
      name: local(logicalId).replace(/[0-9A-F]{8}$/, ''),
      assetDir,
      handler: (p.Handler as string | undefined) ?? 'index.handler',
      variables: ((p.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables ?? {}) as Record<string, unknown>,
      memorySize: (p.MemorySize as number | undefined) ?? 128,
      timeoutSeconds: (p.Timeout as number | undefined) ?? 3,
      tracing: (p.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active',
      roleLogicalId: role[0],
    });
  }
  return {
    stackName: stack.stackName,
    template,
    functions,
    fn(prefix) {
      const found = functions.filter((f) => f.name.startsWith(prefix));
      if (found.length !== 1)
        throw new Error(
          `expected one bundled function named ${prefix}*, found ${found.map((f) => f.name).join(', ') || 'none'} among ${functions.map((f) => f.name).join(', ')}`,
        );
      return found[0]!;
    },
  };
}

/** The staged asset of a function: by its asset metadata when CDK writes it, else its S3 key. */
function assetDirOf(outdir: string, r: Resource): string | undefined {
  const path = r.Metadata?.['aws:asset:path'];
  if (typeof path === 'string') return join(outdir, path);
  const key = (r.Properties?.Code as { S3Key?: unknown } | undefined)?.S3Key;
  return typeof key === 'string' ? join(outdir, `asset.${key.replace(/\.zip$/, '')}`) : undefined;
}

/**
 * Credentials of its own for a container, as each function gets its role's: the access key id
 * tells whose call a recorded one was (AwsCallRecorder.name).
 */
export function functionCredentials(): AwsCredentials {
  return {
    accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(20).toString('base64'),
    sessionToken: randomBytes(16).toString('base64'),
  };
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

// ---------------------------------------------------------------------------------------------
// Containers

export interface ContainerOptions {
  /** The function's variables, resolved (TemplatePolicies.environmentOf). */
  readonly variables: Record<string, string>;
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** Where the SDK sends every call (AWS_ENDPOINT_URL): moto, or a recorder in front of it. */
  readonly awsEndpoint?: string;
  /** Replaces or removes (undefined) variables after the rest: to measure, or to break things. */
  readonly overrides?: Record<string, string | undefined>;
}

/** A Lambda context's plain fields; the runner adds getRemainingTimeInMillis and the callbacks. */
interface ContextFields {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
}

const RUNNER = fileURLToPath(new URL('./lambda-runner.mjs', import.meta.url));
/** moto's account, in the ARNs a context carries. */
const ACCOUNT = '123456789012';

/**
 * One warm container of a bundled function: started (init: the bundle's module scope, top-level
 * await included) by `start`, then invoked any number of times, one invocation at a time.
 */
export class LambdaContainer {
  /** What it wrote during init, before the first invocation. */
  readonly initOutput: string;
  private next = 0;
  private readonly pending = new Map<
    number,
    { resolve: (r: unknown) => void; reject: (e: Error) => void }
  >();

  /**
   * The environment the Lambda runtime gives the function: its own variables, of which the
   * template may override the unreserved ones (PATH, LANG, the X-Ray settings) but not the rest.
   */
  static environment(fn: BundledFunction, o: ContainerOptions): Record<string, string> {
    const functionName = `${fn.name}-${randomUUID().slice(0, 8)}`;
    const env: Record<string, string | undefined> = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      ...(fn.tracing && {
        // Lambda's own setting, so Powertools keeps it rather than setting IGNORE_ERROR.
        AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
        // Nothing listens there: X-Ray's UDP datagrams are dropped, as a missing daemon's would be.
        AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:9',
      }),
      ...o.variables,
      AWS_REGION: o.region,
      AWS_DEFAULT_REGION: o.region,
      AWS_ACCESS_KEY_ID: o.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: o.credentials.secretAccessKey,
      AWS_SESSION_TOKEN: o.credentials.sessionToken,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_FUNCTION_NAME: functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `2025/01/01/[$LATEST]${randomUUID().replace(/-/g, '')}`,
      LAMBDA_TASK_ROOT: fn.assetDir,
      LAMBDA_RUNTIME_DIR: fn.assetDir,
      _HANDLER: fn.handler,
      TZ: ':UTC',
      ...(fn.tracing && { _AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1', _AWS_XRAY_DAEMON_PORT: '9' }),
      // Nothing from the developer's ~/.aws (a profile, an endpoint_url) may reach the bundle.
      AWS_CONFIG_FILE: join(fn.assetDir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(fn.assetDir, 'no-aws-credentials'),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...(o.awsEndpoint && { AWS_ENDPOINT_URL: o.awsEndpoint }),
      ...o.overrides,
    };
    return Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
    );
  }

  static async start(fn: BundledFunction, options: ContainerOptions): Promise<LambdaContainer> {
    const env = LambdaContainer.environment(fn, options);
    const child = fork(RUNNER, [fn.assetDir], {
      env,
      cwd: fn.assetDir,
      // Not jest's --experimental-vm-modules: only the template's NODE_OPTIONS, from env.
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const log = { text: '' };
    const append = (d: Buffer) => void (log.text += d.toString());
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    const initMs = await new Promise<number>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${fn.name} failed to start: ${why}\n${log.text.slice(-4000)}`));
      };
      // Lambda gives init 10 s; more here, for a loaded machine, but never a hang.
      const timer = setTimeout(() => fail('init did not finish within 30 s'), 30_000);
      child.once('error', (err) => fail(err.message));
      child.once('exit', (code, signal) => fail(`exit ${code ?? signal}`));
      child.once('message', (m: { type: string; initMs?: number; error?: { stack?: string } }) => {
        if (m.type !== 'ready') return fail(m.error?.stack ?? JSON.stringify(m));
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(m.initMs!);
      });
    });
    return new LambdaContainer(fn, child, env, initMs, log);
  }

  private constructor(
    readonly fn: BundledFunction,
    private readonly child: ChildProcess,
    readonly env: Readonly<Record<string, string>>,
    /** How long init took in the container, in milliseconds. */
    readonly initMs: number,
    private readonly log: { text: string },
  ) {
    this.initOutput = log.text;
    child.on('exit', (code, signal) => {
      for (const p of this.pending.values())
        p.reject(new Error(`${fn.name} exited (${code ?? signal}) during an invocation`));
      this.pending.clear();
    });
    child.on('message', (m: { id: number; result?: unknown; error?: { stack?: string } }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(`${fn.name} threw: ${m.error.stack}`));
      else p.resolve(m.result);
    });
  }

  /** Everything the bundle wrote to stdout and stderr: its log stream. */
  get output(): string {
    return this.log.text;
  }

  /** Invokes the handler with `event` and a Lambda context, as the runtime does. */
  invoke<T = unknown>(event: unknown): Promise<T> {
    const id = this.next++;
    const env = this.env;
    const context: ContextFields = {
      functionName: env.AWS_LAMBDA_FUNCTION_NAME!,
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION!,
      invokedFunctionArn: `arn:aws:lambda:${env.AWS_REGION}:${ACCOUNT}:function:${env.AWS_LAMBDA_FUNCTION_NAME}`,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE!,
      awsRequestId: randomUUID(),
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME!,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME!,
    };
    const traceId = `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
    const timeoutMs = this.fn.timeoutSeconds * 1000;
    return new Promise<T>((resolve, reject) => {
      // Lambda would stop the invocation at the function's timeout; a test must not hang instead.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.fn.name}: no answer within the function's ${timeoutMs} ms`));
      }, timeoutMs + 5000);
      this.pending.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.send({ id, event, context, traceId, timeoutMs });
    });
  }

  /** An API Gateway HTTP API (payload 2.0) invocation; the result is what API Gateway maps. */
  http(event: HttpEvent): Promise<HttpResult> {
    return this.invoke<HttpResult>(event);
  }

  /** The JSON lines the bundle logged (Powertools' structured logs and EMF metrics). */
  jsonLines(): Array<Record<string, unknown>> {
    return this.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL'); // a container is frozen and reaped, never shut down politely
    await exited;
  }
}
