/**
 * Each recorded AWS call weighed as AWS would weigh it: the identity policies of the principal that
 * signed it and the resource's policy (a KMS key policy), both from the synthesized template, by
 * @cloud-copilot/iam-simulate (AGPL-3.0: a test-only dependency, never imported from lib/, lambda/
 * or bin/).
 *
 *   const verdicts = await evaluateCalls(recorder.calls, {
 *     policies,                                  // TemplatePolicies (template-policies.ts)
 *     principalOf: (call) => byKey[call.accessKeyId],   // Principal, e.g. policies.role(id)
 *   });
 *   denials(verdicts)                            // the calls AWS would refuse, with why
 *   await expectAllowed(calls, options)          // throws naming every refused call
 *
 * A call is refused when IAM denies it implicitly (nothing allows it) or explicitly, and also when
 * it cannot be weighed: signed by a key no principal is bound to, or naming a resource
 * aws-call-recorder.ts cannot derive. Nothing is skipped silently.
 *
 * The pieces, in test/support/iam/:
 *   aws-call-recorder.ts  AwsCallRecorder (the proxy), AwsCall, iamRequestsOf (action, ARN, keys)
 *   template-policies.ts  TemplatePolicies (intrinsics resolved, principals, key policies, the
 *                         actions a principal holds), withoutAction (mutations)
 *   evaluate-calls.ts     this file
 *   server-template.ts    synthServer: the app's stack, bundling off, with its logical ids
 *   component-flows.ts    the token function, the JWKS publisher and the admin, as a principal
 *   moto-iam.ts           startMotoWithIam: a moto_server of its own that enforces IAM actions
 *
 * What the simulation is given: the principal (a role session, aws:PrincipalArn its role), its
 * identity policies, the resource policy of the resource when the template has one (KMS key
 * policies; a table's ResourcePolicy), aws:SecureTransport true and the keys the request carries.
 * No SCP, RCP, permission boundary or session policy: the template has none.
 */
import { getDenialReasons, runSimulation } from '@cloud-copilot/iam-simulate';
import { iamRequestsOf, type AwsCall, type IamRequest } from './aws-call-recorder.js';
import type { Principal, TemplatePolicies } from './template-policies.js';

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied' | 'Unevaluable';

export interface Verdict {
  readonly call: AwsCall;
  readonly request: IamRequest;
  readonly principal: Principal | undefined;
  readonly decision: Decision;
  /** Why it was refused: what is missing, or which statement denies. */
  readonly why?: string;
}

export interface EvaluationOptions {
  readonly policies: TemplatePolicies;
  /** The principal behind a call, usually by its access key id; undefined refuses the call. */
  readonly principalOf: (call: AwsCall) => Principal | undefined;
}

/** One verdict per IAM request of each call (a call may need several actions). */
export async function evaluateCalls(
  calls: readonly AwsCall[],
  { policies, principalOf }: EvaluationOptions,
): Promise<Verdict[]> {
  const { account, partition = 'aws' } = policies.bindings;
  const resourcePolicies = policies.resourcePolicies();
  // A flow repeats the same requests many times: each distinct one is simulated once.
  const cache = new Map<string, Promise<Pick<Verdict, 'decision' | 'why'>>>();
  const verdicts: Verdict[] = [];
  for (const call of calls) {
    const principal = principalOf(call);
    for (const request of iamRequestsOf(call, account, partition)) {
      if (!principal) {
        verdicts.push({
          call,
          request,
          principal,
          decision: 'Unevaluable',
          why: `signed with access key ${call.accessKeyId}, which no principal is bound to`,
        });
        continue;
      }
      if (request.resource === undefined) {
        verdicts.push({
          call,
          request,
          principal,
          decision: 'Unevaluable',
          why: `no resource ARN known for ${request.action}: teach iamRequestsOf (test/support/iam/aws-call-recorder.ts)`,
        });
        continue;
      }
      const resource = request.resource;
      const key = JSON.stringify([principal.arn, request.action, resource, request.context]);
      let outcome = cache.get(key);
      if (!outcome) {
        const resourcePolicy = resourcePolicies.find((p) => p.arn === resource);
        outcome = simulate(principal, request, resource, account, resourcePolicy);
        cache.set(key, outcome);
      }
      verdicts.push({ call, request, principal, ...(await outcome) });
    }
  }
  return verdicts;
}

/** The verdicts that are not Allowed. */
export function denials(verdicts: readonly Verdict[]): Verdict[] {
  return verdicts.filter((v) => v.decision !== 'Allowed');
}

/** One line for a verdict: who, what, on which resource, with which keys, and why not. */
export function describeVerdict(v: Verdict): string {
  const who = v.principal
    ? `${v.principal.name} (${v.principal.arn})`
    : `key ${v.call.accessKeyId}`;
  const keys = Object.keys(v.request.context).length
    ? ` with ${JSON.stringify(v.request.context)}`
    : '';
  const answered = v.call.errorType ? `${v.call.status} ${v.call.errorType}` : `${v.call.status}`;
  return (
    `${who}: ${v.request.action} on ${v.request.resource ?? '(unknown resource)'}${keys} ` +
    `is ${v.decision}${v.why ? `: ${v.why}` : ''} [the call was ${v.call.service}.${v.call.action}, answered ${answered} by moto]`
  );
}

/** Throws, listing each refused call once, unless AWS would allow every call. */
export async function expectAllowed(
  calls: readonly AwsCall[],
  options: EvaluationOptions,
): Promise<Verdict[]> {
  if (calls.length === 0) throw new Error('no AWS call was recorded: nothing to evaluate');
  const verdicts = await evaluateCalls(calls, options);
  const refused = [...new Set(denials(verdicts).map(describeVerdict))];
  if (refused.length)
    throw new Error(
      `AWS would refuse ${refused.length} distinct call(s) the synthesized policies do not allow:\n` +
        refused.map((line) => `  - ${line}`).join('\n'),
    );
  return verdicts;
}

async function simulate(
  principal: Principal,
  request: IamRequest,
  resource: string,
  defaultAccount: string,
  resourcePolicy: { logicalId: string; policy: unknown } | undefined,
): Promise<Pick<Verdict, 'decision' | 'why'>> {
  const account = resource.split(':')[4] || defaultAccount;
  const principalAccount = principal.principalArn.split(':')[4] ?? defaultAccount;
  const result = await runSimulation(
    {
      request: {
        principal: principal.arn,
        action: request.action,
        resource: { resource, accountId: account },
        contextVariables: {
          'aws:PrincipalArn': principal.principalArn,
          'aws:PrincipalAccount': principalAccount,
          'aws:SecureTransport': 'true',
          ...request.context,
        },
      },
      identityPolicies: principal.identityPolicies.map((p) => ({ ...p })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy && {
        resourcePolicy: withEncryptionContextDecided(resourcePolicy.policy, request.context),
      }),
    },
    {},
  );
  if (result.resultType === 'error')
    return {
      decision: 'Unevaluable',
      why: `the simulator refused the input: ${result.errors.message}`,
    };
  const decision = result.overallResult as Decision;
  if (decision === 'Allowed') return { decision };
  const analyses =
    result.resultType === 'single'
      ? [result.result.analysis]
      : result.results.map((r) => r.analysis);
  const reasons = analyses.flatMap((a) => getDenialReasons(a));
  const names = principal.identityPolicies.map((p) => p.name).join(', ') || 'none';
  const keyPolicy = resourcePolicy
    ? `the resource policy of ${resourcePolicy.logicalId}`
    : 'no resource policy';
  const why = [
    ...new Set(
      reasons.map((r) => {
        if (r.denialType === 'Explicit')
          return `an explicit Deny in the ${r.policyType} policy${r.policyIdentifier ? ` ${r.policyIdentifier}` : ''}, statement ${r.statementId ?? r.statementIndex}`;
        if (r.policyType === 'identity')
          return `missing: an Allow for ${request.action} on this resource in the identity policies (${names})`;
        if (r.policyType === 'resource')
          return `missing: an Allow for ${request.action} naming ${principal.principalArn} in ${keyPolicy}`;
        return `implicitly denied by the ${r.policyType} policies`;
      }),
    ),
  ];
  return { decision, why: why.join('; ') || `denied (${keyPolicy}; identity policies: ${names})` };
}

/**
 * The simulator knows condition keys with a variable after a slash (aws:RequestTag/${TagKey}) but
 * not KMS's `kms:EncryptionContext:${EncryptionContextKey}`, which it ignores, so a statement
 * conditioned on it never applies. Those conditions (StringEquals only, the one operator the
 * template uses on them) are decided here against the request: a statement whose context values
 * match loses them, one whose values do not match is dropped. Any other operator on them is left
 * for the simulator, which then refuses: never silently allowed.
 */
function withEncryptionContextDecided(
  policy: unknown,
  context: Readonly<Record<string, string | string[]>>,
): unknown {
  const PREFIX = 'kms:encryptioncontext:';
  const doc = structuredClone(policy) as {
    Statement: Array<{ Condition?: Record<string, Record<string, unknown>> }>;
  };
  const requested = new Map(
    Object.entries(context)
      .filter(([k]) => k.toLowerCase().startsWith(PREFIX))
      .map(([k, v]) => [k.slice(PREFIX.length), v]),
  );
  doc.Statement = doc.Statement.filter((statement) => {
    const equals = statement.Condition?.StringEquals;
    if (!equals) return true;
    for (const [key, expected] of Object.entries(equals)) {
      if (!key.toLowerCase().startsWith(PREFIX)) continue;
      const actual = requested.get(key.slice(PREFIX.length));
      if (typeof actual !== 'string' || ![expected].flat().includes(actual)) return false;
      delete equals[key];
    }
    if (Object.keys(equals).length === 0) delete statement.Condition!.StringEquals;
    if (Object.keys(statement.Condition!).length === 0) delete statement.Condition;
    return true;
  });
  return doc;
}
