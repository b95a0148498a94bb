/**
 * A moto_server of its own with IAM enforced, and one IAM user per principal holding exactly the
 * actions given (TemplatePolicies.actionsHeldBy derives them from the template).
 *
 *   const moto = await startMotoWithIam({ admin: ['*'], token: policies.actionsHeldBy(role) });
 *   new DynamoDBClient({ endpoint: moto.endpoint, region: moto.region, credentials: moto.users.token });
 *   ...
 *   await moto.stop();
 *
 * What moto enforces (moto/core/authorization.py, moto/iam/access_control.py): the SigV4 signature
 * of a known user's access key, and the user's policies by action only, the resource always being
 * "*"; it weighs no resource policy and no condition (a statement with a Condition it cannot
 * evaluate counts as a Deny). So each user's policy is one statement, its actions on "*": resources,
 * key policies and conditions are the evaluation's business (evaluate-calls.ts). In particular the
 * token role's GetItem, granted on the clients table, passes here on any table.
 *
 * moto lets the first INITIAL_NO_AUTH_ACTION_COUNT requests through unauthenticated: exactly the
 * three IAM requests per user that create the users, their policies and their keys. Once started,
 * a request signed with a key moto does not know is refused, which this module checks before
 * handing the server over.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { startMotoProcess } from '../moto-server.js';
import type { Credentials } from './component-flows.js';

export interface MotoWithIam {
  readonly endpoint: string;
  readonly region: string;
  /** The account moto puts the users and every resource in. */
  readonly account: string;
  /** Each user's access key, by the name it was given. */
  readonly users: Readonly<Record<string, Credentials>>;
  stop(): Promise<void>;
}

const REGION = 'us-east-1';
const REQUESTS_PER_USER = 3;

export async function startMotoWithIam(
  users: Readonly<Record<string, readonly string[]>>,
): Promise<MotoWithIam> {
  const names = Object.keys(users);
  const moto = await startMotoProcess({
    env: { INITIAL_NO_AUTH_ACTION_COUNT: String(REQUESTS_PER_USER * names.length) },
  });
  try {
    const credentials: Record<string, Credentials> = {};
    let account = '';
    for (const name of names) {
      const created = await iam(moto.endpoint, { Action: 'CreateUser', UserName: name });
      account = /<Arn>arn:[^:]+:iam::(\d+):user\//.exec(created)?.[1] ?? account;
      await iam(moto.endpoint, {
        Action: 'PutUserPolicy',
        UserName: name,
        PolicyName: 'actions',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: [...users[name]!], Resource: '*' }],
        }),
      });
      const key = await iam(moto.endpoint, { Action: 'CreateAccessKey', UserName: name });
      credentials[name] = {
        accessKeyId: /<AccessKeyId>([^<]+)</.exec(key)![1]!,
        secretAccessKey: /<SecretAccessKey>([^<]+)</.exec(key)![1]!,
      };
    }
    await expectEnforced(moto.endpoint);
    return {
      endpoint: moto.endpoint,
      region: REGION,
      account,
      users: credentials,
      stop: moto.stop,
    };
  } catch (err) {
    await moto.stop();
    throw err;
  }
}

/** An IAM query request, unsigned: only the first requests may be. */
async function iam(endpoint: string, params: Record<string, string>): Promise<string> {
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      // Tells moto which service this is; the signature is not checked yet.
      authorization: `AWS4-HMAC-SHA256 Credential=bootstrap/20250101/${REGION}/iam/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ ...params, Version: '2010-05-08' }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`moto IAM ${params.Action} answered ${res.status}: ${text}`);
  return text;
}

/** The unauthenticated window is closed: a key moto does not know is refused. */
async function expectEnforced(endpoint: string): Promise<void> {
  const db = new DynamoDBClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'AKIANOBODY', secretAccessKey: 'nobody' },
    maxAttempts: 1,
  });
  try {
    await db.send(new ListTablesCommand({}));
  } catch (err) {
    if (httpStatusOf(err) === 403) return;
    throw new Error(`moto's IAM check answered an unknown key with: ${String(err)}`);
  } finally {
    db.destroy();
  }
  throw new Error('moto accepted a request signed with an unknown key: IAM is not enforced');
}

/** The HTTP status of an SDK error (moto answers IAM refusals in XML the SDK cannot parse). */
export function httpStatusOf(err: unknown): number | undefined {
  return (
    (err as { $response?: { statusCode?: number }; $metadata?: { httpStatusCode?: number } })
      ?.$metadata?.httpStatusCode ??
    (err as { $response?: { statusCode?: number } })?.$response?.statusCode
  );
}
