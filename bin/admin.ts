/**
 * `npm run admin -- clients add|list|remove|enable|disable ...`: manage the clients of the local
 * server (DATA_DIR), whether or not it is running, or with `--stack NAME` those of a deployed stack.
 * `npm run admin -- assertion check <ID-JAG>`: every ID-JAG check (JAG-FORMAT to JAG-CLIENT-ISSUER)
 * on an assertion, without redeeming it.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadLocalConfig } from '../lambda/config.js';
import { AdminError, ClientAdmin } from '../lambda/admin/client-admin.js';
import { DataDirError } from '../lambda/local/data-dir.js';
import { openLocalAdminStore } from '../lambda/local/local-admin.js';
import { systemClock, type ClientRecord } from '../lambda/ports.js';
import { checkIdJag } from '../lambda/oauth/id-jag.js';
import { RemoteIssuerKeys } from '../lambda/remote/issuer-keys.js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { StackAdminClients } from '../lambda/aws/stack-client-admin.js';

const USAGE = `Usage:
  npm run admin -- clients add --client-id ID [--client-secret SECRET] --scope "a b"
                               --resource URI [--resource URI ...] [--token-lifetime SECONDS]
                               [--issuer ISSUER ...] [--dpop-bound-required] [--json]
  npm run admin -- clients list [--json]
  npm run admin -- clients remove --client-id ID
  npm run admin -- clients disable|enable --client-id ID
  npm run admin -- assertion check <ID-JAG> [--client-id ID] [--json]

Without --client-secret a secret of 256 random bits is generated and printed once.
--issuer limits the client to assertions from those trusted issuers (default: any trusted issuer).
--dpop-bound-required makes every token for the client DPoP-bound: a request without a DPoP proof
is refused (DPOP-REQUIRED).
Works on DATA_DIR (default .local) whether or not the local server is running.
With --stack NAME (before or after the command) it works on that deployed stack instead, in the
region and with the credentials of the environment (AWS_REGION, AWS_PROFILE, ...).
assertion check runs every check the token endpoint runs on an ID-JAG, except spending its jti,
against this server's ISSUER and TRUSTED_ISSUERS (with --stack: the stack's issuer; the trusted
issuers and CLOCK_SKEW still come from your environment, so set them as deployed), and prints each
with pass or fail and why. It exits 1 if any check fails.`;

const OPTIONS = {
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  scope: { type: 'string' },
  resource: { type: 'string', multiple: true },
  'token-lifetime': { type: 'string' },
  issuer: { type: 'string', multiple: true },
  'dpop-bound-required': { type: 'boolean' },
  json: { type: 'boolean' },
  stack: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

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
  let run: (admin: ClientAdmin, issuer: string | undefined) => Promise<void>;
  if (group === 'assertion') {
    if (command !== 'check') throw usage('expected: assertion check <ID-JAG>');
    if (rest.length !== 1) throw usage('assertion check takes exactly one ID-JAG');
    run = (admin, issuer) => checkAssertion(rest[0]!, admin, issuer, env, values, out);
  } else {
    if (group !== 'clients' || !command)
      throw usage('expected: clients add|list|remove|enable|disable, or assertion check');
    if (rest.length > 0) throw usage(`unexpected argument ${JSON.stringify(rest[0])}`);
    const commands: Record<string, (admin: ClientAdmin) => Promise<void>> = {
      add: (admin) => add(admin, values, out),
      list: (admin) => list(admin, values, out),
      remove: (admin) => remove(admin, values, out),
      enable: (admin) => setEnabled(admin, values, true, out),
      disable: (admin) => setEnabled(admin, values, false, out),
    };
    const chosen = commands[command];
    if (!chosen || !Object.hasOwn(commands, command))
      throw usage(`unknown command ${JSON.stringify(command)}`);
    run = chosen;
  }
  if (values.stack !== undefined) return runOnStack(values.stack, run, awsClients);

  const dataDir = localConfig(env).dataDir;
  let opened;
  try {
    opened = await openLocalAdminStore(dataDir);
  } catch (err) {
    if (err instanceof DataDirError) throw new AdminError(err.message);
    throw err;
  }
  try {
    await run(new ClientAdmin(opened.store, opened.store, 'client/'), undefined);
  } finally {
    opened.close();
  }
}

async function runOnStack(
  stackName: string,
  run: (admin: ClientAdmin, issuer: string | undefined) => Promise<void>,
  awsClients: (() => StackAdminClients) | undefined,
): Promise<void> {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName))
    throw usage('--stack must name a CloudFormation stack');
  // Loaded only here: the local form must not need (or wait for) the AWS SDK's CloudFormation client.
  const aws = await import('../lambda/aws/stack-client-admin.js');
  const clients = (awsClients ?? aws.defaultStackAdminClients)();
  try {
    const { admin, issuer } = await aws.openStackClientAdmin(stackName, clients);
    await run(admin, issuer);
  } finally {
    aws.destroyStackAdminClients(clients);
  }
}

function localConfig(env: NodeJS.ProcessEnv) {
  try {
    return loadLocalConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new AdminError(`Configuration error: ${err.message}`);
    throw err;
  }
}

async function setEnabled(
  admin: ClientAdmin,
  v: Values,
  enabled: boolean,
  out: (line: string) => void,
): Promise<void> {
  if (!v['client-id']) throw usage('--client-id is required');
  await admin.setEnabled(v['client-id'], enabled);
  out(`${enabled ? 'Enabled' : 'Disabled'} client ${v['client-id']}`);
}

/**
 * Every ID-JAG check (JAG-FORMAT to JAG-CLIENT-ISSUER) on one assertion, printed with pass or fail
 * and why; exit 1 if any fails.
 */
async function checkAssertion(
  assertion: string,
  admin: ClientAdmin,
  stackIssuer: string | undefined,
  env: NodeJS.ProcessEnv,
  v: Values,
  out: (line: string) => void,
): Promise<void> {
  const config = localConfig(stackIssuer ? { ...env, ISSUER: stackIssuer } : env);
  const clientId = v['client-id'];
  const record = clientId === undefined ? undefined : await admin.get(clientId);
  const outcomes = await checkIdJag(
    assertion.trim(),
    clientId === undefined ? undefined : { clientId, issuers: record?.issuers },
    {
      issuer: config.issuer,
      trustedIssuers: new Map(config.trustedIssuers.map((t) => [t.issuer, t])),
      clockSkew: config.clockSkew,
      issuerKeys: new RemoteIssuerKeys(config.trustedIssuers),
      clock: systemClock,
    },
  );
  const registered = clientId === undefined || record !== undefined;
  const failed = outcomes.some((o) => o.status === 'fail') || !registered;
  const proof = proofNeeded(assertion.trim(), record, config);
  if (v.json) {
    out(
      JSON.stringify({
        issuer: config.issuer,
        valid: !failed,
        checks: outcomes,
        ...(clientId !== undefined && { client_registered: registered }),
        ...(proof && { dpop: proof }),
      }),
    );
  } else {
    out(
      `Checking an ID-JAG against issuer ${config.issuer}${clientId ? ` for client ${clientId}` : ''}`,
    );
    try {
      out(`  header  ${JSON.stringify(decodeProtectedHeader(assertion.trim()))}`);
      out(`  claims  ${JSON.stringify(decodeJwt(assertion.trim()))}`);
    } catch {
      out('  (not a decodable JWT)');
    }
    for (const o of outcomes) {
      if (o.status === 'pass') out(`  \u2714 ${o.title}`);
      else if (o.status === 'fail') out(`  \u2718 ${o.title}\n      ${o.reason}: ${o.description}`);
      else out(`  - ${o.title} (skipped: ${o.note})`);
    }
    out(
      '  - the jti has not been redeemed before (not checked: only redeeming can tell, and that spends it)',
    );
    if (!registered)
      out(
        `  \u2718 client ${clientId} is registered\n      no such client: register it with clients add`,
      );
    if (proof) out(`  ! ${proof.needs}`);
    out(failed ? 'The token endpoint would refuse this assertion.' : 'Every check passed.');
  }
  if (failed) throw new AdminError('', 1);
}

/**
 * What redeeming needs beyond the assertion: a DPoP proof when the assertion is bound (cnf.jkt,
 * DPOP-CNF-JKT) or the client or a resource requires bound tokens (DPOP-REQUIRED).
 */
function proofNeeded(
  assertion: string,
  client: ClientRecord | undefined,
  config: { issuer: string; dpop: { requiredResources: readonly string[] } },
): { reason: string; jkt?: string; needs: string } | undefined {
  let claims: Record<string, unknown> = {};
  try {
    claims = decodeJwt(assertion);
  } catch {
    return undefined;
  }
  const proof = `a DPoP header: a proof (typ dpop+jwt) for POST ${config.issuer}/token`;
  const cnf = claims.cnf as Record<string, unknown> | undefined;
  if (cnf !== undefined) {
    const jkt = typeof cnf === 'object' && cnf !== null ? cnf.jkt : undefined;
    if (typeof jkt !== 'string' || Object.keys(cnf).length !== 1)
      return {
        reason: 'cnf_unsupported',
        needs:
          'the assertion is bound by a cnf this server cannot check: only cnf.jkt is (DPOP-CNF-OTHER)',
      };
    return {
      reason: 'cnf_jkt',
      jkt,
      needs: `the assertion is bound to key ${jkt} (cnf.jkt): redeeming it needs ${proof}, signed by the key with that RFC 7638 thumbprint; the access token will be DPoP-bound (DPOP-CNF-JKT)`,
    };
  }
  if (client?.dpopBoundRequired)
    return {
      reason: 'client',
      needs: `client ${client.clientId} takes DPoP-bound tokens only: redeeming needs ${proof} (DPOP-REQUIRED)`,
    };
  const resources = ([] as unknown[]).concat(claims.resource ?? []);
  const resource = resources.find(
    (r): r is string => typeof r === 'string' && config.dpop.requiredResources.includes(r),
  );
  if (resource !== undefined)
    return {
      reason: 'resource',
      needs: `resource ${resource} takes DPoP-bound tokens only: redeeming needs ${proof} (DPOP-REQUIRED)`,
    };
  return undefined;
}

async function add(admin: ClientAdmin, v: Values, out: (line: string) => void): Promise<void> {
  if (!v['client-id']) throw usage('--client-id is required');
  if (v.scope === undefined) throw usage('--scope is required');
  if (!v.resource) throw usage('--resource is required');
  const lifetime = v['token-lifetime'];
  if (lifetime !== undefined && !/^\d+$/.test(lifetime))
    throw usage('--token-lifetime must be a whole number of seconds');
  const { client, clientSecret } = await admin.add({
    clientId: v['client-id'],
    clientSecret: v['client-secret'],
    scopes: v.scope.split(' ').filter(Boolean),
    resources: v.resource,
    tokenLifetime: lifetime === undefined ? undefined : Number(lifetime),
    issuers: v.issuer,
    dpopBoundRequired: v['dpop-bound-required'],
  });
  if (v.json)
    return out(JSON.stringify({ client_id: client.clientId, client_secret: clientSecret }));
  out(`Registered client ${client.clientId}`);
  out(`  client_id      ${client.clientId}`);
  out(`  client_secret  ${clientSecret}`);
  out(`  scope          ${client.scopes.join(' ')}`);
  out(`  resources      ${client.resources.join(' ')}`);
  if (client.tokenLifetime !== undefined) out(`  token lifetime ${client.tokenLifetime} s`);
  if (client.issuers) out(`  issuers        ${client.issuers.join(' ')}`);
  if (client.dpopBoundRequired) out('  tokens         DPoP-bound only (a DPoP proof is required)');
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
    ...(c.dpopBoundRequired && { dpop_bound_required: true }),
  };
}

async function list(admin: ClientAdmin, v: Values, out: (line: string) => void): Promise<void> {
  const clients = await admin.list();
  if (v.json) return out(JSON.stringify(clients.map(describeClient)));
  if (clients.length === 0) return out('No clients registered.');
  for (const c of clients) {
    out(
      `${c.clientId}${c.enabled ? '' : ' (disabled)'}\n  scope      ${c.scopes.join(' ')}\n  resources  ${c.resources.join(' ')}`,
    );
  }
}

async function remove(admin: ClientAdmin, v: Values, out: (line: string) => void): Promise<void> {
  if (!v['client-id']) throw usage('--client-id is required');
  await admin.remove(v['client-id']);
  out(`Removed client ${v['client-id']}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runAdmin(process.argv.slice(2), process.env, (line) => console.log(line)).catch(
    (err: unknown) => {
      if (err instanceof AdminError) {
        if (err.message) console.error(err.message);
        process.exit(err.exitCode);
      }
      console.error('admin failed:', err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
