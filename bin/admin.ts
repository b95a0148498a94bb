/**
 * `npm run admin -- clients add|show|update|rotate-secret|list|remove|enable|disable ...`: manage
 * the clients of the local server (DATA_DIR), whether or not it is running, or with `--stack NAME`
 * those of a deployed stack. `npm run admin -- assertion check <ID-JAG>`: what the token endpoint
 * would answer to an assertion, check by check, without redeeming it.
 *
 * Secrets never come through argv where `ps` and shell history would keep them (AUTH-SECRET): a
 * chosen secret is read from standard input or a named environment variable; by default one is
 * generated and printed once.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadLocalConfig, loadServiceConfig } from '../lambda/config.js';
import {
  AdminError,
  ClientAdmin,
  MAX_GRACE_SECONDS,
  type ServerPolicy,
} from '../local/admin/client-admin.js';
import { evaluateAssertion, type AssertionReport } from '../local/admin/assertion-check.js';
import {
  effectiveConfig,
  pickServiceEnvironment,
  type EffectiveConfig,
} from '../local/admin/effective-config.js';
import { DataDirError } from '../local/data-dir.js';
import { openLocalAdminStore } from '../local/admin/local-admin.js';
import { proofRequirement } from '../lambda/oauth/dpop-binding.js';
import { once } from '../lambda/once.js';
import { systemClock, type ClientRecord } from '../lambda/ports.js';
import { RemoteIssuerKeys } from '../lambda/remote/issuer-keys.js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { StackAdminClients, StackClientStore } from '../local/admin/stack-client-admin.js';

/** The environment variable `--client-secret-env` names when the docs show it. */
export const DEFAULT_SECRET_VARIABLE = 'XAA_CLIENT_SECRET';

/** Each command's synopsis, as the usage shows it. */
const SYNOPSES = {
  'clients add': `clients add --client-id ID --scope "a b" --resource URI [--resource URI ...]
                               [--token-lifetime SECONDS] [--issuer ISSUER ...]
                               [--client-secret-stdin | --client-secret-env VARIABLE
                                | --jwks-uri URL | --jwks-file FILE]
                               [--dpop-bound-required] [--json]`,
  'clients show': 'clients show --client-id ID [--json]',
  'clients update': `clients update --client-id ID [--scope "a b"] [--resource URI ...]
                               [--token-lifetime SECONDS|default] [--issuer ISSUER ... | --any-issuer]
                               [--jwks-uri URL | --jwks-file FILE]`,
  'clients rotate-secret': `clients rotate-secret --client-id ID [--grace SECONDS]
                               [--client-secret-stdin | --client-secret-env VARIABLE] [--json]`,
  'clients list': 'clients list [--json]',
  'clients remove': 'clients remove --client-id ID',
  'clients disable': 'clients disable|enable --client-id ID',
  'clients enable': 'clients disable|enable --client-id ID',
  'assertion check': `assertion check <ID-JAG> [--client-id ID] [--resource URI ...] [--scope "a b"]
                               [--json]`,
} as const;

type CommandName = keyof typeof SYNOPSES;

/** What the usage says after the synopses, and which commands each paragraph is about. */
const NOTES: ReadonlyArray<{
  readonly about: readonly CommandName[] | 'all';
  readonly text: string;
}> = [
  {
    about: ['clients add', 'clients rotate-secret'],
    text: `add and rotate-secret generate a secret of 256 random bits and print it once, unless you choose
one: --client-secret-stdin reads it from standard input (one line), --client-secret-env VARIABLE
from that environment variable (e.g. ${DEFAULT_SECRET_VARIABLE}). Never put a secret on the command
line: ps and your shell history keep it.`,
  },
  {
    about: ['clients add', 'clients update'],
    text: '--issuer limits the client to assertions from those trusted issuers (default: any trusted issuer).',
  },
  {
    about: ['clients add', 'clients update'],
    text: `--jwks-uri URL or --jwks-file FILE registers a client that authenticates with private_key_jwt
(a JWT signed with its own key) instead of a secret: nothing secret is stored or printed. The URL
must be https; the file is the client's public JWKS ({"keys": [...]}, each key with its "alg").
On update they replace such a client's keys.`,
  },
  {
    about: ['clients add'],
    text: `--dpop-bound-required makes every token for the client DPoP-bound: a request without a DPoP proof
is refused (DPOP-REQUIRED).`,
  },
  {
    about: ['clients rotate-secret'],
    text: `rotate-secret keeps the previous secret valid for --grace seconds (default 3600, at most
${MAX_GRACE_SECONDS}; 0 retires it at once), so clients can switch one by one.`,
  },
  {
    about: 'all',
    text: `Works on DATA_DIR (default .local) whether or not the local server is running.
With --stack NAME (before or after the command) it works on that deployed stack instead, in the
region and with the credentials of the environment (AWS_REGION, AWS_PROFILE, ...).`,
  },
  {
    about: ['clients add', 'clients update', 'assertion check'],
    text: `add, update and assertion check judge by the configuration the server runs with: the running
local server's, or the stack's; with no server running, this shell's environment (each says which).`,
  },
  {
    about: ['assertion check'],
    text: `assertion check runs the token endpoint's own steps on an ID-JAG for a client (--client-id), with
the --resource and --scope a token request would carry, except spending its jti, and prints each
check with pass or fail and why. It exits 0 only if the endpoint would accept it.`,
  },
];

const synopsis = (command: CommandName) => `  npm run admin -- ${SYNOPSES[command]}`;

/** The whole usage: every command. */
const USAGE = [
  'Usage:',
  // disable and enable share a line.
  ...(Object.keys(SYNOPSES) as CommandName[])
    .map(synopsis)
    .filter((line, i, all) => all.indexOf(line) === i),
  '  npm run admin -- help [COMMAND]      (or COMMAND --help: the usage of that one command)',
  '',
  ...NOTES.map((n) => n.text),
].join('\n');

/** The usage of one command, and where the rest is. */
function usageOf(command: CommandName | undefined): string {
  if (!command) return USAGE;
  return [
    'Usage:',
    synopsis(command),
    '',
    ...NOTES.filter((n) => n.about === 'all' || n.about.includes(command)).map((n) => n.text),
    '',
    'Every command: npm run admin -- help',
  ].join('\n');
}

const OPTIONS = {
  'client-id': { type: 'string' },
  'client-secret-stdin': { type: 'boolean' },
  'client-secret-env': { type: 'string' },
  scope: { type: 'string' },
  resource: { type: 'string', multiple: true },
  'token-lifetime': { type: 'string' },
  issuer: { type: 'string', multiple: true },
  'any-issuer': { type: 'boolean' },
  grace: { type: 'string' },
  'dpop-bound-required': { type: 'boolean' },
  'jwks-uri': { type: 'string' },
  'jwks-file': { type: 'string' },
  json: { type: 'boolean' },
  stack: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof OPTIONS;

type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

/** Bad arguments: the CLI adds the usage of the command they were given to. */
class UsageError extends AdminError {
  constructor(problem: string) {
    super(problem, 2);
  }
}

const usage = (problem: string) => new UsageError(problem);

/** Which command the arguments name, if any: the first two positionals, or "help" and those. */
function commandOf(positionals: readonly string[]): CommandName | undefined {
  const words = positionals[0] === 'help' ? positionals.slice(1) : positionals;
  const name = `${words[0]} ${words[1]}`;
  return Object.hasOwn(SYNOPSES, name) ? (name as CommandName) : undefined;
}

/** The options a flag was most likely meant to be: same letters, or one or two typos away. */
function suggestion(flag: string): OptionName | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const names = Object.keys(OPTIONS) as OptionName[];
  const same = names.find((n) => squash(n) === squash(flag));
  if (same) return same;
  let best: { name: OptionName; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(flag.toLowerCase(), name);
    if (distance < (best?.distance ?? Infinity)) best = { name, distance };
  }
  if (best && best.distance <= (flag.length > 5 ? 2 : 1)) return best.name;
  return names.find((n) => flag.length >= 3 && n.startsWith(flag.toLowerCase()));
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * A value that is a negative number (`--grace -5`) is the flag's value, for the command to say what
 * it accepts; Node's parser would call it "ambiguous".
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (takesValue(arg) && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else args.push(arg);
  }
  return args;
}

const takesValue = (flag: string) =>
  flag.startsWith('--') && OPTIONS[flag.slice(2) as OptionName]?.type === 'string';

/** Every mistake in one line: an unknown flag with the one it was probably meant to be. */
function parseArguments(args: string[]): { values: Values; positionals: string[] } {
  const { tokens } = parseArgs({
    args,
    options: OPTIONS,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind !== 'option' || Object.hasOwn(OPTIONS, token.name)) continue;
    const meant = suggestion(token.name);
    throw usage(`unknown option ${token.rawName}${meant ? `: did you mean --${meant}?` : ''}`);
  }
  // What the strict parse below would refuse, said from the tokens in this command's words (Node's
  // are written for its API, and its errors name the flag only inside their message).
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const { rawName: flag, value, inlineValue } = token;
    if (OPTIONS[token.name as OptionName].type !== 'string') {
      if (value !== undefined) throw usage(`${flag} takes no value`);
      continue;
    }
    if (value === undefined) throw usage(`${flag} needs a value`);
    // `--scope --json`: a value that looks like an option, which Node calls "ambiguous".
    if (!inlineValue && value.length > 1 && value.startsWith('-'))
      throw usage(`${flag} needs a value (one that starts with "-" is written ${flag}=VALUE)`);
  }
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw usage((err as Error).message);
  }
}

/** What a command works with: the client admin, and the configuration the server runs with. */
interface Context {
  readonly admin: ClientAdmin;
  readonly settings: () => Promise<EffectiveConfig>;
}

/** What a command reaches besides its arguments, environment and output; tests replace each. */
export interface AdminOptions {
  /** Standard input, read to its end (tests pass a string). */
  readonly stdin?: () => Promise<string>;
  /** For --stack: the AWS clients to use (tests point them at a local endpoint). */
  readonly awsClients?: () => StackAdminClients;
}

export async function runAdmin(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
  options: AdminOptions = {},
): Promise<void> {
  const args = joinNegativeValues(argv);
  // The command the arguments name, even when they are wrong: its usage is the one to show.
  const command = commandOf(
    parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: false }).positionals,
  );
  try {
    await runCommand(args, command, env, out, options);
  } catch (err) {
    if (err instanceof UsageError) throw new AdminError(`${err.message}\n\n${usageOf(command)}`, 2);
    throw err;
  }
}

async function runCommand(
  args: string[],
  commandName: CommandName | undefined,
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
  { stdin = readStdin, awsClients }: AdminOptions,
): Promise<void> {
  const { values, positionals } = parseArguments(args);
  if (values.help || positionals[0] === 'help') return out(usageOf(commandName));
  const [group, command, ...rest] = positionals;
  let run: (ctx: Context) => Promise<void>;
  if (group === 'assertion') {
    if (command !== 'check') throw usage('expected: assertion check <ID-JAG>');
    if (rest.length !== 1) throw usage('assertion check takes exactly one ID-JAG');
    run = (ctx) => checkAssertion(rest[0]!, ctx, values, out);
  } else {
    if (group !== 'clients' || !command)
      throw usage(
        'expected: clients add|show|update|rotate-secret|list|remove|enable|disable, or assertion check',
      );
    if (rest.length > 0) throw usage(`unexpected argument ${JSON.stringify(rest[0])}`);
    const secret = () => chosenSecret(values, env, stdin);
    const commands: Record<string, (ctx: Context) => Promise<void>> = {
      add: (ctx) => add(ctx, values, secret, out),
      show: ({ admin }) => show(admin, values, out),
      update: (ctx) => update(ctx, values, out),
      'rotate-secret': ({ admin }) => rotate(admin, values, secret, out),
      list: ({ admin }) => list(admin, values, out),
      remove: ({ admin }) => remove(admin, values, out),
      enable: ({ admin }) => setEnabled(admin, values, true, out),
      disable: ({ admin }) => setEnabled(admin, values, false, out),
    };
    const chosen = commands[command];
    if (!chosen || !Object.hasOwn(commands, command))
      throw usage(`unknown command ${JSON.stringify(command)}`);
    run = chosen;
  }
  if (values.stack !== undefined) return runOnStack(values.stack, env, run, awsClients);

  const dataDir = localConfig(env).dataDir;
  let opened;
  try {
    opened = await openLocalAdminStore(dataDir);
  } catch (err) {
    if (err instanceof DataDirError) throw new AdminError(err.message);
    throw err;
  }
  try {
    const settings = once(async (): Promise<EffectiveConfig> => {
      const fromServer = pickServiceEnvironment(await opened.serverConfig());
      if (fromServer)
        return configured(() =>
          effectiveConfig(fromServer, `the running server's configuration (DATA_DIR ${dataDir})`),
        );
      return {
        config: localConfig(env),
        source: opened.viaServer
          ? "this shell's environment (the running server does not tell its own: restart it)"
          : `this shell's environment (no server is running on DATA_DIR ${dataDir})`,
      };
    });
    const admin = new ClientAdmin(opened.store, opened.store, 'client/', () =>
      settings().then(policyOf),
    );
    await run({ admin, settings });
  } finally {
    opened.close();
  }
}

function policyOf({ config, source }: EffectiveConfig): ServerPolicy {
  return {
    source,
    trustedIssuers: config.trustedIssuers.map((t) => t.issuer),
    maxAccessTokenTtl: config.maxAccessTokenTtl,
  };
}

async function runOnStack(
  stackName: string,
  env: NodeJS.ProcessEnv,
  run: (ctx: Context) => Promise<void>,
  awsClients: (() => StackAdminClients) | undefined,
): Promise<void> {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName))
    throw usage('--stack must name a CloudFormation stack');
  // Loaded only here: the local form must not need (or wait for) the AWS SDK's CloudFormation client.
  const aws = await import('../local/admin/stack-client-admin.js');
  const clients = (awsClients ?? aws.defaultStackAdminClients)();
  try {
    await runWithStack();
  } catch (err) {
    // The SDK's words name no variable; AWS_REGION is the one to set.
    if (/^Region is missing/.test(String((err as Error | undefined)?.message)))
      throw new AdminError(
        `no AWS region to find stack ${stackName} in: set AWS_REGION to the stack's region (or AWS_PROFILE to a profile that has one)`,
      );
    throw err;
  } finally {
    aws.destroyStackAdminClients(clients);
  }

  async function runWithStack(): Promise<void> {
    let settings: (() => Promise<EffectiveConfig>) | undefined;
    const settingsOf = (store: StackClientStore) =>
      (settings ??= once(async () => {
        const fromStack = pickServiceEnvironment(store.serviceEnvironment);
        if (fromStack)
          return configured(() =>
            effectiveConfig(
              { ...fromStack, ISSUER: store.issuer },
              `stack ${stackName}'s configuration`,
            ),
          );
        return {
          config: configured(() => loadServiceConfig({ ...env, ISSUER: store.issuer })),
          source: `your environment with stack ${stackName}'s issuer (the stack does not publish its configuration: deploy it again)`,
        };
      }));
    const { admin, store } = await aws.openStackClientAdmin(stackName, clients, (s) =>
      settingsOf(s)().then(policyOf),
    );
    await run({ admin, settings: () => settingsOf(store)() });
  }
}

function configured<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ConfigError) throw new AdminError(`Configuration error: ${err.message}`);
    throw err;
  }
}

function localConfig(env: NodeJS.ProcessEnv) {
  return configured(() => loadLocalConfig(env));
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    process.stderr.write(
      'Reading the client secret from standard input: type it, then Enter and Ctrl-D (the terminal shows it; piping it in does not)\n',
    );
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * AUTH-SECRET: the secret the operator chose, or undefined to generate one. From standard input
 * (one line; the line break is not part of it) or a named environment variable, never argv.
 */
async function chosenSecret(
  v: Values,
  env: NodeJS.ProcessEnv,
  stdin: () => Promise<string>,
): Promise<string | undefined> {
  if (v['client-secret-stdin'] && v['client-secret-env'] !== undefined)
    throw usage(
      'choose one of --client-secret-stdin and --client-secret-env (or neither, to generate a secret)',
    );
  if (v['client-secret-stdin']) {
    const text = (await stdin()).replace(/\r?\n$/, '');
    if (text.includes('\n'))
      throw usage('--client-secret-stdin reads one line: standard input held several');
    if (text === '') throw usage('--client-secret-stdin: standard input was empty');
    return text;
  }
  const variable = v['client-secret-env'];
  if (variable !== undefined) {
    const value = env[variable];
    if (value === undefined || value === '')
      throw usage(`--client-secret-env: the environment variable ${variable} is not set`);
    return value;
  }
  return undefined;
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
 * The token endpoint's own steps on one assertion for one client (local/admin/assertion-check.ts),
 * printed with pass or fail and why; exit 1 if the endpoint would refuse it.
 */
async function checkAssertion(
  assertion: string,
  { admin, settings }: Context,
  v: Values,
  out: (line: string) => void,
): Promise<void> {
  const { config, source } = await settings();
  const clientId = v['client-id'];
  const record = clientId === undefined ? undefined : await admin.get(clientId);
  const jag = assertion.trim();
  const report = await evaluateAssertion(
    jag,
    clientId === undefined ? undefined : { clientId, record },
    { scope: v.scope, resources: [...new Set(v.resource ?? [])] },
    config,
    {
      issuer: config.issuer,
      trustedIssuers: new Map(config.trustedIssuers.map((t) => [t.issuer, t])),
      clockSkew: config.clockSkew,
      issuerKeys: new RemoteIssuerKeys(config.trustedIssuers),
      clock: systemClock,
    },
  );
  const failed = !report.valid;
  const proof = proofNeeded(jag, record, config);
  if (v.json) {
    out(
      JSON.stringify({
        issuer: config.issuer,
        configuration: source,
        valid: report.valid,
        checks: report.checks,
        ...(clientId !== undefined && { client_registered: record !== undefined }),
        ...(report.grant && {
          grant: {
            resource: report.grant.audience,
            scope: report.grant.scopes.join(' '),
            expires_in: report.grant.lifetime,
          },
        }),
        ...(proof && { dpop: proof }),
      }),
    );
  } else {
    out(
      `Checking an ID-JAG against issuer ${config.issuer}${clientId ? ` for client ${clientId}` : ''}`,
    );
    out(`  configuration: ${source}`);
    try {
      out(`  header  ${JSON.stringify(decodeProtectedHeader(jag))}`);
      out(`  claims  ${JSON.stringify(decodeJwt(jag))}`);
    } catch {
      out('  (not a decodable JWT)');
    }
    for (const o of report.checks) {
      if (o.status === 'pass')
        out(`  \u2714 ${o.title}${'note' in o && o.note ? `: ${o.note}` : ''}`);
      else if (o.status === 'fail')
        out(
          `  \u2718 ${o.title}\n      ${'error' in o ? `${o.error} ` : ''}${o.reason}: ${o.description}`,
        );
      else out(`  - ${o.title} (skipped: ${o.note})`);
    }
    out(
      '  - the jti has not been redeemed before (not checked: only redeeming can tell, and that spends it)',
    );
    if (proof) out(`  ! ${proof.needs}`);
    out(verdict(report, clientId));
  }
  if (failed) throw new AdminError('', 1);
}

/** The report's last line: one verdict, or why there is none. */
function verdict(report: AssertionReport, clientId: string | undefined): string {
  if (report.valid) return 'Every check passed.';
  const failures = report.checks.filter((c) => c.status === 'fail');
  if (failures.some((c) => 'error' in c && c.error === 'temporarily_unavailable'))
    return "The token endpoint would answer 503 temporarily_unavailable: it cannot fetch the issuer's keys now (check the jwks_uri, or try again later).";
  if (failures.length > 0) return 'The token endpoint would refuse this assertion.';
  // Every check made passed, but the client's were skipped: no verdict without one.
  if (clientId === undefined)
    return "The ID-JAG's own checks passed; give --client-id (and the --resource and --scope the token request will carry) for a verdict.";
  return 'The token endpoint would refuse this assertion.';
}

/**
 * What redeeming needs beyond the assertion: a DPoP proof when the assertion is bound (cnf.jkt,
 * DPOP-CNF-JKT) or the client or a resource requires bound tokens (DPOP-REQUIRED), as the token
 * endpoint decides it (proofRequirement, lambda/oauth/dpop-binding.ts).
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
  const cnf = claims.cnf as Record<string, unknown> | undefined;
  const jkt = typeof cnf === 'object' && cnf !== null ? cnf.jkt : undefined;
  // DPOP-CNF-OTHER: a binding other than cnf.jkt alone is refused before any proof is looked at.
  if (cnf !== undefined && (typeof jkt !== 'string' || Object.keys(cnf).length !== 1))
    return {
      reason: 'cnf_unsupported',
      needs:
        'the assertion is bound by a cnf this server cannot check: only cnf.jkt is (DPOP-CNF-OTHER)',
    };
  const required = proofRequirement({
    cnf: typeof jkt === 'string' ? { jkt } : undefined,
    client,
    audience: ([] as unknown[]).concat(claims.resource ?? []).filter((r) => typeof r === 'string'),
    requiredResources: config.dpop.requiredResources,
  });
  const proof = `a DPoP header: a proof (typ dpop+jwt) for POST ${config.issuer}/token`;
  switch (required?.by) {
    case undefined:
      return undefined;
    case 'cnf':
      return {
        reason: 'cnf_jkt',
        jkt: required.jkt,
        needs: `the assertion is bound to key ${required.jkt} (cnf.jkt): redeeming it needs ${proof}, signed by the key with that RFC 7638 thumbprint; the access token will be DPoP-bound (DPOP-CNF-JKT)`,
      };
    case 'client':
      return {
        reason: 'client',
        needs: `client ${client?.clientId} takes DPoP-bound tokens only: redeeming needs ${proof} (DPOP-REQUIRED)`,
      };
    case 'resource':
      return {
        reason: 'resource',
        needs: `resource ${required.resource} takes DPoP-bound tokens only: redeeming needs ${proof} (DPOP-REQUIRED)`,
      };
  }
}

function lifetimeOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw))
    throw usage(`--token-lifetime must be a whole number of seconds, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function scopesOf(raw: string): string[] {
  return raw.split(' ').filter(Boolean);
}

/** A command that may take a secret the operator chose (AUTH-SECRET: never from argv). */
type SecretCommand = (
  admin: ClientAdmin,
  v: Values,
  secret: () => Promise<string | undefined>,
  out: (line: string) => void,
) => Promise<void>;

async function add(
  { admin, settings }: Context,
  v: Values,
  secret: () => Promise<string | undefined>,
  out: (line: string) => void,
): Promise<void> {
  if (!v['client-id']) throw usage('--client-id is required');
  if (v.scope === undefined) throw usage('--scope is required');
  if (!v.resource) throw usage('--resource is required');
  if (v['jwks-uri'] !== undefined || v['jwks-file'] !== undefined)
    return addKeyClient({ admin, settings }, v, out);
  const chosen = await secret();
  const { client, clientSecret } = await admin.add({
    clientId: v['client-id'],
    clientSecret: chosen,
    scopes: scopesOf(v.scope),
    resources: v.resource,
    tokenLifetime: lifetimeOf(v['token-lifetime']),
    issuers: v.issuer,
    dpopBoundRequired: v['dpop-bound-required'],
  });
  if (v.json)
    return out(JSON.stringify({ client_id: client.clientId, client_secret: clientSecret }));
  out(`Registered client ${client.clientId}`);
  out(`  client_id      ${client.clientId}`);
  // A secret the operator chose is not echoed: it would land in the terminal's scrollback.
  if (chosen === undefined) out(`  client_secret  ${clientSecret}`);
  describe(client, out);
  out(`  checked against ${(await settings()).source}`);
  if (chosen === undefined) out('The secret is shown only this once: keep it now.');
}

/** AUTH-PRIVATE-KEY-JWT: a client with keys; there is no secret to choose, print or keep. */
async function addKeyClient(
  { admin, settings }: Context,
  v: Values,
  out: (line: string) => void,
): Promise<void> {
  if (v['client-secret-stdin'] || v['client-secret-env'] !== undefined)
    throw usage('a client authenticates with a secret or with keys: drop --client-secret-*');
  const client = await admin.addKeyClient({
    clientId: v['client-id']!,
    ...(v['jwks-uri'] !== undefined && { jwksUri: v['jwks-uri'] }),
    ...(v['jwks-file'] !== undefined && { jwks: readJwksFile(v['jwks-file']) }),
    scopes: scopesOf(v.scope!),
    resources: v.resource!,
    tokenLifetime: lifetimeOf(v['token-lifetime']),
    issuers: v.issuer,
    dpopBoundRequired: v['dpop-bound-required'],
  });
  if (v.json) return out(JSON.stringify(describeClient(client)));
  out(`Registered client ${client.clientId}`);
  out(`  client_id      ${client.clientId}`);
  describe(client, out);
  out(`  checked against ${(await settings()).source}`);
}

function readJwksFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : 'cannot be read';
    throw usage(`--jwks-file ${path}: ${why}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw usage(`--jwks-file ${path} is not JSON`);
  }
}

function describe(client: ClientRecord, out: (line: string) => void): void {
  if (client.authMethod === 'private_key_jwt')
    out(`  authenticates  private_key_jwt, keys ${client.jwksUri ?? 'registered inline'}`);
  out(`  scope          ${client.scopes.join(' ')}`);
  out(`  resources      ${client.resources.join(' ')}`);
  if (client.tokenLifetime !== undefined) out(`  token lifetime ${client.tokenLifetime} s`);
  if (client.issuers) out(`  issuers        ${client.issuers.join(' ')}`);
  if (client.dpopBoundRequired) out('  tokens         DPoP-bound only (a DPoP proof is required)');
}

async function show(admin: ClientAdmin, v: Values, out: (line: string) => void): Promise<void> {
  if (!v['client-id']) throw usage('--client-id is required');
  const client = await admin.get(v['client-id']);
  if (!client) throw new AdminError(`client ${v['client-id']} is not registered`);
  // Never the secret (AUTH-SECRET): the admin does not read it back, here or on AWS.
  if (v.json) return out(JSON.stringify(describeClient(client)));
  out(`${client.clientId}${client.enabled ? '' : ' (disabled)'}`);
  describe(client, out);
  if (client.tokenLifetime === undefined) out('  token lifetime the server default');
  if (!client.issuers) out('  issuers        any trusted issuer');
}

async function update(
  { admin, settings }: Context,
  v: Values,
  out: (line: string) => void,
): Promise<void> {
  if (!v['client-id']) throw usage('--client-id is required');
  if (v.issuer && v['any-issuer']) throw usage('--issuer and --any-issuer exclude each other');
  const lifetime = v['token-lifetime'];
  const changes = {
    ...(v.scope !== undefined && { scopes: scopesOf(v.scope) }),
    ...(v.resource && { resources: v.resource }),
    ...(lifetime !== undefined && {
      tokenLifetime: lifetime === 'default' ? null : lifetimeOf(lifetime)!,
    }),
    ...(v.issuer && { issuers: v.issuer }),
    ...(v['any-issuer'] && { issuers: [] }),
    ...(v['jwks-uri'] !== undefined && { jwksUri: v['jwks-uri'] }),
    ...(v['jwks-file'] !== undefined && { jwks: readJwksFile(v['jwks-file']) }),
  };
  if (Object.keys(changes).length === 0)
    throw usage(
      'clients update needs something to change: --scope, --resource, --token-lifetime, --issuer, --any-issuer, --jwks-uri or --jwks-file',
    );
  const client = await admin.update(v['client-id'], changes);
  out(`Updated client ${client.clientId}`);
  describe(client, out);
  out(`  checked against ${(await settings()).source}`);
}

const rotate: SecretCommand = async (admin, v, secret, out) => {
  if (!v['client-id']) throw usage('--client-id is required');
  const grace = v.grace ?? '3600';
  if (!/^\d+$/.test(grace))
    throw usage(
      `--grace must be a whole number of seconds from 0 to ${MAX_GRACE_SECONDS}, got ${JSON.stringify(grace)}`,
    );
  const chosen = await secret();
  const { client, clientSecret, previousUntil } = await admin.rotateSecret(v['client-id'], {
    clientSecret: chosen,
    graceSeconds: Number(grace),
    now: systemClock.now(),
  });
  const until = previousUntil === undefined ? undefined : new Date(previousUntil * 1000);
  if (v.json)
    return out(
      JSON.stringify({
        client_id: client.clientId,
        ...(chosen === undefined && { client_secret: clientSecret }),
        ...(until && { previous_secret_valid_until: until.toISOString() }),
      }),
    );
  out(`Rotated the secret of client ${client.clientId}`);
  if (chosen === undefined) out(`  client_secret  ${clientSecret}`);
  out(
    until
      ? `  the previous secret keeps working until ${until.toISOString()}, then is retired`
      : '  the previous secret is retired now',
  );
  if (chosen === undefined) out('The secret is shown only this once: keep it now.');
};

function describeClient(c: ClientRecord): Record<string, unknown> {
  return {
    client_id: c.clientId,
    scope: c.scopes.join(' '),
    resources: c.resources,
    enabled: c.enabled,
    ...(c.tokenLifetime !== undefined && { token_lifetime: c.tokenLifetime }),
    ...(c.issuers && { issuers: c.issuers }),
    ...(c.dpopBoundRequired && { dpop_bound_required: true }),
    ...(c.authMethod === 'private_key_jwt' && { token_endpoint_auth_method: 'private_key_jwt' }),
    ...(c.jwksUri !== undefined && { jwks_uri: c.jwksUri }),
    ...(c.jwks !== undefined && { jwks: c.jwks }),
  };
}

async function list(admin: ClientAdmin, v: Values, out: (line: string) => void): Promise<void> {
  const clients = await admin.list();
  if (v.json) return out(JSON.stringify(clients.map(describeClient)));
  if (clients.length === 0) return out('No clients registered.');
  for (const c of clients) {
    out(
      `${c.clientId}${c.enabled ? '' : ' (disabled)'}\n  scope      ${c.scopes.join(' ')}\n  resources  ${c.resources.join(' ')}${c.authMethod === 'private_key_jwt' ? '\n  auth       private_key_jwt' : ''}`,
    );
  }
}

async function remove(admin: ClientAdmin, v: Values, out: (line: string) => void): Promise<void> {
  if (!v['client-id']) throw usage('--client-id is required');
  await admin.remove(v['client-id']);
  out(`Removed client ${v['client-id']}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `npm run admin -- clients list | head -1`: once the reader has gone, what is left to print has
  // nowhere to go. The command still runs to its end (a change is made whole, the lock let go) and
  // exits as it would have, without a word, as CLIs do when their output is closed.
  let stdoutGone = false;
  const quietWhenGone = (stream: NodeJS.WriteStream, gone: () => void) =>
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
      gone();
    });
  quietWhenGone(process.stdout, () => (stdoutGone = true));
  quietWhenGone(process.stderr, () => undefined);
  const print = (line: string) => {
    if (!stdoutGone) console.log(line);
  };
  runAdmin(process.argv.slice(2), process.env, print).catch((err: unknown) => {
    if (err instanceof AdminError) {
      if (err.message) console.error(err.message);
      process.exit(err.exitCode);
    }
    console.error('admin failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
