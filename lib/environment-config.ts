/**
 * One configuration file per environment: `cdk synth -c config=NAME` reads `config/NAME.json`, the
 * construct's props as JSON (durations in whole seconds, removal policies as "retain"/"destroy").
 * Read strictly: an unknown or misspelled key, a missing `trustedIssuers` or a value of the wrong
 * type stops the synth with the file and the key's path; the values themselves are then checked by
 * the construct (lib/server-props.ts), whose messages name the key the same way.
 *
 * JSON has no comments: a key named "//" (a string or an array of strings) is allowed in any object
 * and ignored, so a file can explain itself.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { z } from 'zod';
import { DEFAULT_ALARM_THRESHOLDS, type AlarmThresholds } from './observability.js';
import {
  XaaConfigError,
  resolveServerProps,
  type XaaAuthorizationServerProps,
} from './server-props.js';

/**
 * The shipped configuration directory (top level of the repository). From the installed package
 * this names a folder the package does not ship: pass your app's own to loadEnvironmentConfig.
 */
export const CONFIG_DIR = fileURLToPath(new URL('../config/', import.meta.url));

/** The environment used when `-c config=NAME` is not given: the public xaa.dev playground. */
export const DEFAULT_ENVIRONMENT = 'playground';

/** Part of the stack name (XaaAuthServer-NAME), so CloudFormation's rules for stack names apply. */
const ENVIRONMENT_NAME = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

const COMMENT_KEY = '//';

const seconds = z.int().positive().max(999_999_999);
const removal = z.enum(['retain', 'destroy']);
// A list is accepted here so that the construct can say why one key cannot sign in two modes.
const signingMode = z.union([z.string(), z.array(z.string())]);
const throttle = z.strictObject({
  rateLimit: z.number().optional(),
  burstLimit: z.int().optional(),
});

/** The file's shape; its keys are the props' keys (lib/server-props.ts), checked both ways below. */
const CONFIG_SCHEMA = z.strictObject({
  account: z
    .string()
    .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1')
    .optional(),
  trustedIssuers: z
    .array(
      z.strictObject({
        issuer: z.string(),
        jwksUri: z.string(),
        algorithms: z.array(z.string()).min(1).optional(),
        maxAssertionLifetime: seconds.optional(),
        allowReuse: z.boolean().optional(),
        subjectPrefix: z.string().optional(),
        defaultScope: z.enum(['registered', 'none']).optional(),
        tenant: z.string().optional(),
      }),
    )
    .min(1, 'list at least one IdP: there is no default'),
  clientMetadataDocuments: z
    .array(
      z.strictObject({
        urlPrefix: z.string(),
        scopes: z.array(z.string()).min(1),
        resources: z.array(z.string()).min(1),
        issuers: z.array(z.string()).min(1).optional(),
        tokenLifetime: seconds.optional(),
        dpopBoundRequired: z.boolean().optional(),
      }),
    )
    .optional(),
  corsOrigins: z.array(z.string()).optional(),
  accessTokenLifetime: seconds.optional(),
  maxAccessTokenLifetime: seconds.optional(),
  clockSkew: z.int().min(0).max(3600).optional(),
  scopesSupported: z.array(z.string()).optional(),
  signingKeys: z
    .array(
      z.strictObject({
        id: z.string(),
        active: z.boolean().optional(),
        // Strings here, checked by the construct, whose messages say what is supported.
        signing: signingMode.optional(),
        keySpec: z.string().optional(),
      }),
    )
    .min(1)
    .optional(),
  signing: signingMode.optional(),
  kmsRequestQuota: z
    .strictObject({
      rsaRequestsPerSecond: z.number().optional(),
      tokenShare: z.number().optional(),
    })
    .optional(),
  customDomain: z
    .strictObject({
      domainName: z.string(),
      certificateArn: z.string(),
      hostedZone: z.strictObject({ hostedZoneId: z.string(), zoneName: z.string() }).optional(),
    })
    .optional(),
  throttle: throttle.optional(),
  tokenThrottle: throttle.optional(),
  logRetention: z.int().positive().optional(),
  removalPolicies: z
    .strictObject({ clientsTable: removal.optional(), auditLogs: removal.optional() })
    .optional(),
  existingClientsTableName: z.string().optional(),
  clientSecretPrefix: z.string().optional(),
  sampleResource: z
    .union([z.boolean(), z.strictObject({ resource: z.string().optional() })])
    .optional(),
  alarms: z
    .union([
      z.boolean(),
      z.strictObject({
        email: z.string().optional(),
        topicArn: z.string().optional(),
        thresholds: z
          .strictObject(
            Object.fromEntries(
              Object.keys(DEFAULT_ALARM_THRESHOLDS).map((k) => [k, z.number().optional()]),
            ) as Record<keyof AlarmThresholds, z.ZodOptional<z.ZodNumber>>,
          )
          .optional(),
      }),
    ])
    .optional(),
  tokenFunction: z
    .strictObject({
      memorySize: z.int().optional(),
      timeout: seconds.optional(),
      reservedConcurrency: z.int().optional(),
      provisionedConcurrency: z.int().optional(),
      accountConcurrencyLimit: z.int().optional(),
    })
    .optional(),
  edgeProtection: z
    .union([
      z.boolean(),
      z.strictObject({
        rateLimitPerIp: z.int().positive().optional(),
        webAclArn: z.string().optional(),
      }),
    ])
    .optional(),
});

type ConfigFile = z.infer<typeof CONFIG_SCHEMA>;

/** Keys of the file that are the stack's, not the construct's. */
type StackKeys = 'account' | 'region';
/** Props that take a construct of the app, which a JSON file cannot hold (the file names it instead). */
type ConstructOnlyProps = 'existingClientsTable';

// Every prop has a key in the file and every key is a prop: a prop added to the construct without
// a key here (or the reverse) fails the type check.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _keysMatch: Same<
  Exclude<keyof ConfigFile, StackKeys>,
  Exclude<keyof XaaAuthorizationServerProps, ConstructOnlyProps>
> = true;
void _keysMatch;

export interface EnvironmentConfig {
  /** The environment's name, part of its stack name. */
  readonly name: string;
  /** The file it was read from. */
  readonly file: string;
  /** The construct's props, shape and values checked. */
  readonly props: XaaAuthorizationServerProps;
  /**
   * The account and region the file pins the stack to: a deploy with credentials of another
   * account then stops before it changes anything. @default the CLI's (environment-agnostic)
   */
  readonly env?: { readonly account?: string; readonly region?: string };
}

/**
 * `config/NAME.json` → the construct's props, checked as the construct checks them, so that a
 * mistake stops the synth before anything is built.
 *
 * @param name - the environment: a letter, then up to 39 letters, digits or `-`
 * @param dir - the folder of the configuration files
 * @throws XaaConfigError with `file` and the key, for a file that cannot be used
 * @example
 * ```ts
 * const { props, env } = loadEnvironmentConfig('prod'); // config/prod.json
 * ```
 */
export function loadEnvironmentConfig(name: string, dir: string = CONFIG_DIR): EnvironmentConfig {
  if (!ENVIRONMENT_NAME.test(name)) {
    throw new XaaConfigError(
      'config',
      `${JSON.stringify(name)} is not an environment name (a letter, then up to 39 letters, digits or "-"; ` +
        'it becomes part of the stack name)' +
        (name.endsWith('.json') ? `: drop ".json", as in -c config=${name.slice(0, -5)}` : ''),
    );
  }
  const file = join(dir, `${name}.json`);
  if (!existsSync(file)) {
    const known = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.json'))
          .map((f) => f.slice(0, -'.json'.length))
      : [];
    throw new XaaConfigError(
      'config',
      `no file ${file} for environment ${JSON.stringify(name)} (known: ${known.join(', ') || 'none'}); ` +
        'copy config/example-production.json to start one',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new XaaConfigError(file, `is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  try {
    const { props, env } = parseEnvironmentFile(json);
    resolveServerProps(props); // the values, checked now so the message can name the file
    return { name, file, props, ...(env && { env }) };
  } catch (err) {
    throw err instanceof XaaConfigError ? err.inFile(file) : err;
  }
}

/** A configuration file's content → the construct's props (shape and types only; see above). */
export function parseEnvironmentConfig(json: unknown): XaaAuthorizationServerProps {
  return parseEnvironmentFile(json).props;
}

/** A configuration file's content → the construct's props and the stack's pinned environment. */
export function parseEnvironmentFile(json: unknown): Omit<EnvironmentConfig, 'name' | 'file'> {
  const result = CONFIG_SCHEMA.safeParse(withoutComments(json, []));
  if (!result.success) throw describe(result.error.issues);
  const { account, region, ...props } = result.data;
  const env = dropUndefined({ account, region });
  return { props: toProps(props), ...(Object.keys(env).length > 0 && { env }) };
}

function withoutComments(value: unknown, path: readonly (string | number)[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => withoutComments(v, [...path, i]));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === COMMENT_KEY) {
      const ok =
        typeof v === 'string' || (Array.isArray(v) && v.every((line) => typeof line === 'string'));
      if (!ok)
        throw new XaaConfigError(
          keyPath([...path, key]),
          'a comment is a string or an array of strings',
        );
      continue;
    }
    out[key] = withoutComments(v, [...path, key]);
  }
  return out;
}

function keyPath(path: readonly PropertyKey[]): string {
  return (
    path
      .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
      .join('') || '(top level)'
  );
}

/** The first problem, named by its key; a misspelled key gets the nearest known one. */
function describe(issues: readonly z.core.$ZodIssue[]): XaaConfigError {
  // Unknown keys first: a misspelling also makes the intended key look missing.
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const known = knownKeys(issue.path);
    const near = nearest(key, known);
    return new XaaConfigError(
      keyPath([...issue.path, key]),
      `unknown key${near ? ` (did you mean "${near}"?)` : ''}; known here: ${known.join(', ')}`,
    );
  }
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message))
    return new XaaConfigError(keyPath(issue.path), `is required (${issue.expected})`);
  return new XaaConfigError(keyPath(issue.path), issue.message);
}

function knownKeys(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = CONFIG_SCHEMA;
  for (const p of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodObject) schema = schema.shape[String(p)] as z.ZodType;
    schema = unwrap(schema);
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodUnion) {
      const object = (s.options as z.ZodType[]).find((o) => o instanceof z.ZodObject);
      if (!object) return s;
      s = object;
    } else return s;
  }
}

/** The known key `key` is a near miss of, if any: what "did you mean" names. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  // Close enough to be a typo, or the same word with another casing or ending (accessTokenTTL).
  return best &&
    (best.distance <= Math.max(2, Math.floor(key.length / 3)) ||
      best.name.toLowerCase().startsWith(key.toLowerCase().slice(0, 8)))
    ? best.name
    : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function toProps(c: Omit<ConfigFile, StackKeys>): XaaAuthorizationServerProps {
  const duration = (s: number | undefined) => (s === undefined ? undefined : Duration.seconds(s));
  const policy = (r: 'retain' | 'destroy' | undefined) =>
    r === undefined ? undefined : r === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
  return dropUndefined({
    ...c,
    trustedIssuers: c.trustedIssuers.map((t) =>
      dropUndefined({ ...t, maxAssertionLifetime: duration(t.maxAssertionLifetime) }),
    ),
    clientMetadataDocuments: c.clientMetadataDocuments?.map((r) =>
      dropUndefined({ ...r, tokenLifetime: duration(r.tokenLifetime) }),
    ),
    accessTokenLifetime: duration(c.accessTokenLifetime),
    maxAccessTokenLifetime: duration(c.maxAccessTokenLifetime),
    clockSkew: duration(c.clockSkew),
    tokenFunction: c.tokenFunction && {
      ...dropUndefined({ ...c.tokenFunction, timeout: duration(c.tokenFunction.timeout) }),
    },
    removalPolicies: c.removalPolicies && {
      ...dropUndefined({
        clientsTable: policy(c.removalPolicies.clientsTable),
        auditLogs: policy(c.removalPolicies.auditLogs),
      }),
    },
  }) as XaaAuthorizationServerProps;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
