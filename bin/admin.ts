/**
 * `npm run admin -- clients add|list|remove ...`: manage the clients of the local server (DATA_DIR),
 * whether or not it is running, or with `--stack NAME` those of a deployed stack.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadLocalConfig } from '../lambda/config.js';
import { AdminError, ClientAdmin } from '../lambda/admin/client-admin.js';
import { DynamoDbClientRegistry } from '../lambda/aws/dynamodb-client-registry.js';
import { FileSecretStore } from '../lambda/local/file-secret-store.js';
import { connectLocalDynamo, LOCAL_TABLES } from '../lambda/local/local-dynamodb.js';
import { localPaths } from '../lambda/local/server.js';
import type { ClientRecord } from '../lambda/ports.js';
import type { StackAdminClients } from '../lambda/aws/stack-client-admin.js';

const USAGE = `Usage:
  npm run admin -- clients add --client-id ID [--client-secret SECRET] --scope "a b"
                               --resource URI [--resource URI ...] [--token-lifetime SECONDS]
                               [--issuer ISSUER ...] [--json]
  npm run admin -- clients list [--json]
  npm run admin -- clients remove --client-id ID

Without --client-secret a secret of 256 random bits is generated and printed once.
--issuer limits the client to assertions from those trusted issuers (default: any trusted issuer).
Works on DATA_DIR (default .local) whether or not the local server is running.
With --stack NAME (before or after the command) it works on that deployed stack instead, in the
region and with the credentials of the environment (AWS_REGION, AWS_PROFILE, ...).`;

const OPTIONS = {
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  scope: { type: 'string' },
  resource: { type: 'string', multiple: true },
  'token-lifetime': { type: 'string' },
  issuer: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  stack: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const usage = (problem: string) => new AdminError(`${problem}\n\n${USAGE}`, 2);

export async function runAdmin(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
  /** For --stack: the AWS clients to use (tests point them at a local endpoint). */
  awsClients?: () => StackAdminClients,
): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return out(USAGE);
  const [group, command, ...rest] = positionals;
  if (group !== 'clients' || !command) throw usage('expected: clients add|list|remove');
  if (rest.length > 0) throw usage(`unexpected argument ${JSON.stringify(rest[0])}`);
  if (!['add', 'list', 'remove'].includes(command)) throw usage(`unknown command ${JSON.stringify(command)}`);

  const run = async (admin: ClientAdmin) => {
    if (command === 'add') await add(admin, values, out);
    else if (command === 'list') await list(admin, values, out);
    else await remove(admin, values, out);
  };
  if (values.stack !== undefined) return runOnStack(values.stack, run, awsClients);

  let dataDir: string;
  try {
    dataDir = loadLocalConfig(env).dataDir;
  } catch (err) {
    if (err instanceof ConfigError) throw new AdminError(`Configuration error: ${err.message}`);
    throw err;
  }
  const dynamo = await connectLocalDynamo(dataDir);
  try {
    await run(new ClientAdmin(
      new DynamoDbClientRegistry(dynamo.db, LOCAL_TABLES.clients),
      new FileSecretStore(localPaths(dataDir).secrets),
      'client/',
    ));
  } finally {
    await dynamo.close();
  }
}

async function runOnStack(
  stackName: string,
  run: (admin: ClientAdmin) => Promise<void>,
  awsClients: (() => StackAdminClients) | undefined,
): Promise<void> {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) throw usage('--stack must name a CloudFormation stack');
  // Loaded only here: the local form must not need (or wait for) the AWS SDK's CloudFormation client.
  const aws = await import('../lambda/aws/stack-client-admin.js');
  const clients = (awsClients ?? aws.defaultStackAdminClients)();
  try {
    await run(await aws.openStackClientAdmin(stackName, clients));
  } finally {
    aws.destroyStackAdminClients(clients);
  }
}

async function add(admin: ClientAdmin, v: Values, out: (line: string) => void): Promise<void> {
  if (!v['client-id']) throw usage('--client-id is required');
  if (v.scope === undefined) throw usage('--scope is required');
  if (!v.resource) throw usage('--resource is required');
  const lifetime = v['token-lifetime'];
  if (lifetime !== undefined && !/^\d+$/.test(lifetime)) throw usage('--token-lifetime must be a whole number of seconds');
  const { client, clientSecret } = await admin.add({
    clientId: v['client-id'],
    clientSecret: v['client-secret'],
    scopes: v.scope.split(' ').filter(Boolean),
    resources: v.resource,
    tokenLifetime: lifetime === undefined ? undefined : Number(lifetime),
    issuers: v.issuer,
  });
  if (v.json) return out(JSON.stringify({ client_id: client.clientId, client_secret: clientSecret }));
  out(`Registered client ${client.clientId}`);
  out(`  client_id      ${client.clientId}`);
  out(`  client_secret  ${clientSecret}`);
  out(`  scope          ${client.scopes.join(' ')}`);
  out(`  resources      ${client.resources.join(' ')}`);
  if (client.tokenLifetime !== undefined) out(`  token lifetime ${client.tokenLifetime} s`);
  if (client.issuers) out(`  issuers        ${client.issuers.join(' ')}`);
  if (v['client-secret'] === undefined) out('The secret is shown only this once: keep it now.');
}

function describeClient(c: ClientRecord): Record<string, unknown> {
  return {
    client_id: c.clientId,
    scope: c.scopes.join(' '),
    resources: c.resources,
    enabled: c.enabled,
    ...(c.tokenLifetime !== undefined && { token_lifetime: c.tokenLifetime }),
    ...(c.issuers && { issuers: c.issuers }),
  };
}

async function list(admin: ClientAdmin, v: Values, out: (line: string) => void): Promise<void> {
  const clients = await admin.list();
  if (v.json) return out(JSON.stringify(clients.map(describeClient)));
  if (clients.length === 0) return out('No clients registered.');
  for (const c of clients) {
    out(`${c.clientId}${c.enabled ? '' : ' (disabled)'}\n  scope      ${c.scopes.join(' ')}\n  resources  ${c.resources.join(' ')}`);
  }
}

async function remove(admin: ClientAdmin, v: Values, out: (line: string) => void): Promise<void> {
  if (!v['client-id']) throw usage('--client-id is required');
  await admin.remove(v['client-id']);
  out(`Removed client ${v['client-id']}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runAdmin(process.argv.slice(2), process.env, (line) => console.log(line)).catch((err: unknown) => {
    if (err instanceof AdminError) {
      console.error(err.message);
      process.exit(err.exitCode);
    }
    console.error('admin failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
