/**
 * The policies of a synthesized template, as they would stand once deployed: every intrinsic
 * (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split and the pseudo parameters) resolved
 * against the physical names the test gave its resources on moto.
 *
 *   const policies = new TemplatePolicies(template, {
 *     account: '123456789012', region: 'us-east-1', stackName,
 *     physical: { [replayTableId]: 'replay-abc', [keyId]: keyArn, [tokenRoleId]: 'token-role' },
 *   });
 *   policies.role(tokenRoleId)          // Principal: a session of the role, with its identity policies
 *   policies.holder('operator', arn, [operatorPolicyId])   // a user or role holding managed policies
 *   policies.resourcePolicyOf(arn)      // the KMS key policy (or table policy) for a resource ARN
 *   policies.actionsHeldBy(principal)   // identity actions plus resource-policy statements naming it
 *   policies.environmentOf(functionId)  // a function's variables, resolved
 *   policies.outputs()                  // the stack's outputs, resolved
 *   withoutAction(template, tokenRoleId, 'dynamodb:PutItem')  // a mutated copy, for tests that must fail
 *
 * A resource with no physical name bound resolves to its logical id (Ref) and the ARN its type
 * would have under that name; an attribute this module cannot derive throws, naming it.
 */

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: unknown }>;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[];
}

export interface Bindings {
  readonly account: string;
  readonly region: string;
  /** @default 'aws' */
  readonly partition?: string;
  /** For AWS::StackName. */
  readonly stackName?: string;
  /**
   * Per logical id, the physical name the test created (a table's name, a role's name, a KMS
   * key's id or ARN), or its attributes outright (`{ Ref, Arn, ApiEndpoint }`).
   */
  readonly physical: Readonly<Record<string, string | Readonly<Record<string, string>>>>;
}

/** Who makes a call, and the identity policies IAM weighs for it. */
export interface Principal {
  /** For messages: `role AuthServerTokenFunctionRole…`. */
  readonly name: string;
  /** The request's principal: a role session (`arn:aws:sts::…:assumed-role/…`) or a user. */
  readonly arn: string;
  /** aws:PrincipalArn, and what resource policies name: the role's ARN for a session. */
  readonly principalArn: string;
  readonly identityPolicies: ReadonlyArray<{
    readonly name: string;
    readonly policy: PolicyDocument;
  }>;
}

const IAM_POLICY_TYPES = new Set(['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']);

export class TemplatePolicies {
  private readonly partition: string;

  constructor(
    readonly template: CfnTemplate,
    readonly bindings: Bindings,
  ) {
    this.partition = bindings.partition ?? 'aws';
  }

  /** `value` with every intrinsic resolved; Ref AWS::NoValue drops the property. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value))
      return value.map((v) => this.resolve(v)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::')))
      return this.intrinsic(keys[0]!, o[keys[0]!]);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      const r = this.resolve(v);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  /** Ref of a logical id, once deployed. */
  ref(logicalId: string): string {
    return this.attribute(logicalId, 'Ref');
  }

  /** Fn::GetAtt of a logical id, once deployed. */
  attribute(logicalId: string, attr: string): string {
    const bound = this.bindings.physical[logicalId];
    if (bound !== undefined && typeof bound === 'object') {
      const v = bound[attr];
      if (v !== undefined) return v;
    }
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`no resource ${logicalId} in the template`);
    const named = typeof bound === 'string' ? bound : bound?.Ref;
    const v = deployedAttribute(resource, named ?? logicalId, attr, this.env());
    if (v === undefined)
      throw new Error(
        `cannot tell ${logicalId}.${attr} (${resource.Type}): bind it in bindings.physical`,
      );
    return v;
  }

  /** A session of the template's role `roleLogicalId`, as a Lambda function runs with it. */
  role(roleLogicalId: string, session = 'test-session'): Principal {
    this.expectType(roleLogicalId, 'AWS::IAM::Role');
    const roleArn = this.attribute(roleLogicalId, 'Arn');
    const name = roleArn.split('/').pop()!;
    const policies: Array<{ name: string; policy: PolicyDocument }> = [];
    const role = this.template.Resources[roleLogicalId]!;
    for (const inline of (role.Properties?.Policies as
      Array<{ PolicyName: unknown; PolicyDocument: unknown }> | undefined) ?? [])
      policies.push({
        name: `${roleLogicalId}/${String(this.resolve(inline.PolicyName))}`,
        policy: this.document(inline.PolicyDocument),
      });
    const attached = new Set<string>();
    for (const [id, r] of Object.entries(this.template.Resources))
      if (IAM_POLICY_TYPES.has(r.Type) && refsOf(r.Properties?.Roles).includes(roleLogicalId))
        attached.add(id);
    for (const arn of this.resolve(role.Properties?.ManagedPolicyArns ?? []) as string[]) {
      const id = this.managedPolicyIdOf(arn);
      // An AWS managed policy's text is not in the template: leaving it out would deny what AWS
      // allows without saying why, so it stops the evaluation here, naming it.
      if (id === undefined)
        throw new Error(`${roleLogicalId} has a managed policy not in the template: ${arn}`);
      attached.add(id);
    }
    for (const id of attached)
      policies.push({
        name: id,
        policy: this.document(this.template.Resources[id]!.Properties!.PolicyDocument),
      });
    return {
      name: `role ${roleLogicalId}`,
      arn: `arn:${this.partition}:sts::${this.bindings.account}:assumed-role/${name}/${session}`,
      principalArn: roleArn,
      identityPolicies: policies,
    };
  }

  /** A principal outside the template (an operator's user or role) holding its managed policies. */
  holder(name: string, arn: string, managedPolicyLogicalIds: readonly string[]): Principal {
    return {
      name,
      arn,
      principalArn: arn,
      identityPolicies: managedPolicyLogicalIds.map((id) => {
        this.expectType(id, 'AWS::IAM::ManagedPolicy');
        return {
          name: id,
          policy: this.document(this.template.Resources[id]!.Properties!.PolicyDocument),
        };
      }),
    };
  }

  /** Every resource policy of the template, by the ARN of the resource it guards. */
  resourcePolicies(): Array<{ logicalId: string; arn: string; policy: PolicyDocument }> {
    const out: Array<{ logicalId: string; arn: string; policy: PolicyDocument }> = [];
    for (const [id, r] of Object.entries(this.template.Resources)) {
      const raw = resourcePolicyOfResource(r);
      if (raw !== undefined)
        out.push({ logicalId: id, arn: this.attribute(id, 'Arn'), policy: this.document(raw) });
    }
    return out;
  }

  /** The resource policy guarding `arn` (a KMS key's key policy, a table's policy), if any. */
  resourcePolicyOf(arn: string): { logicalId: string; policy: PolicyDocument } | undefined {
    return this.resourcePolicies().find((p) => p.arn === arn);
  }

  /**
   * Every action `principal` is allowed somewhere, conditions and resources aside: its identity
   * policies' Allow statements and the resource-policy statements that name it. What an IAM user
   * must hold to stand in for it where only actions are enforced (moto).
   */
  actionsHeldBy(principal: Principal): string[] {
    const actions = new Set<string>();
    const add = (s: PolicyStatement) => {
      if (s.Effect !== 'Allow') return;
      if (s.NotAction !== undefined)
        throw new Error(`${principal.name}: a NotAction statement has no finite list of actions`);
      for (const a of list(s.Action)) actions.add(a);
    };
    for (const { policy } of principal.identityPolicies) policy.Statement.forEach(add);
    for (const { policy } of this.resourcePolicies())
      for (const s of policy.Statement)
        if (awsPrincipals(s.Principal).includes(principal.principalArn)) add(s);
    return [...actions].sort();
  }

  /** A function's environment variables, resolved. */
  environmentOf(functionLogicalId: string): Record<string, string> {
    this.expectType(functionLogicalId, 'AWS::Lambda::Function');
    const env = this.template.Resources[functionLogicalId]!.Properties?.Environment as
      { Variables?: Record<string, unknown> } | undefined;
    return this.strings(env?.Variables ?? {}, functionLogicalId);
  }

  /** The stack's outputs, resolved. */
  outputs(): Record<string, string> {
    const values = Object.fromEntries(
      Object.entries(this.template.Outputs ?? {}).map(([k, o]) => [k, o.Value]),
    );
    return this.strings(values, 'Outputs');
  }

  private strings(values: Record<string, unknown>, where: string): Record<string, string> {
    const resolved = this.resolve(values) as Record<string, unknown>;
    for (const [k, v] of Object.entries(resolved))
      if (typeof v !== 'string') throw new Error(`${where}: ${k} resolves to ${JSON.stringify(v)}`);
    return resolved as Record<string, string>;
  }

  private document(raw: unknown): PolicyDocument {
    const doc = this.resolve(raw) as { Version?: string; Statement: unknown };
    const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
    return { ...doc, Statement: statements as PolicyStatement[] };
  }

  private managedPolicyIdOf(arn: string): string | undefined {
    return Object.entries(this.template.Resources).find(
      ([id, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && this.ref(id) === arn,
    )?.[0];
  }

  private expectType(logicalId: string, type: string): void {
    const found = this.template.Resources[logicalId]?.Type;
    if (found !== type)
      throw new Error(`${logicalId} is ${found ?? 'not in the template'}, not ${type}`);
  }

  private env(): DeployEnv {
    return {
      partition: this.partition,
      region: this.bindings.region,
      account: this.bindings.account,
    };
  }

  private intrinsic(name: string, arg: unknown): unknown {
    switch (name) {
      case 'Ref':
        return this.pseudo(arg as string) ?? this.ref(arg as string);
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg)
          ? (arg as [string, string])
          : ((arg as string).split(/\.(.*)/) as [string, string]);
        return this.attribute(id, attr);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown];
        return (this.resolve(parts) as unknown[]).join(sep);
      }
      case 'Fn::Select': {
        const [index, items] = arg as [unknown, unknown];
        return (this.resolve(items) as unknown[])[Number(this.resolve(index))];
      }
      case 'Fn::Split': {
        const [sep, source] = arg as [string, unknown];
        return (this.resolve(source) as string).split(sep);
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg)
          ? (arg as [string, Record<string, unknown>])
          : [arg as string, {}];
        const values = this.resolve(vars) as Record<string, string>;
        return text.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) => {
          if (literal) return `\${${name}}`;
          if (name in values) return values[name]!;
          const pseudo = this.pseudo(name);
          if (typeof pseudo === 'string') return pseudo;
          const [id, attr] = name.split(/\.(.*)/) as [string, string | undefined];
          return attr ? this.attribute(id, attr) : this.ref(id);
        });
      }
      default:
        throw new Error(`${name} is not an intrinsic template-policies.ts resolves`);
    }
  }

  private pseudo(name: string): string | typeof NO_VALUE | undefined {
    switch (name) {
      case 'AWS::Partition':
        return this.partition;
      case 'AWS::Region':
        return this.bindings.region;
      case 'AWS::AccountId':
        return this.bindings.account;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::NoValue':
        return NO_VALUE;
      case 'AWS::StackName':
        if (this.bindings.stackName === undefined)
          throw new Error('AWS::StackName: give bindings.stackName');
        return this.bindings.stackName;
      default:
        if (name.startsWith('AWS::'))
          throw new Error(`pseudo parameter ${name} is not resolved here`);
        return undefined;
    }
  }
}

const NO_VALUE = Symbol('AWS::NoValue');

interface DeployEnv {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** What Ref and Fn::GetAtt give once a resource of this type is deployed under `name`. */
function deployedAttribute(
  resource: CfnResource,
  name: string,
  attr: string,
  { partition, region, account }: DeployEnv,
): string | undefined {
  const arn = (service: string, rest: string, r = region, a = account) =>
    `arn:${partition}:${service}:${r}:${a}:${rest}`;
  switch (resource.Type) {
    case 'AWS::DynamoDB::Table':
      return { Ref: name, Arn: arn('dynamodb', `table/${name}`) }[attr];
    case 'AWS::KMS::Key': {
      const id = name.startsWith('arn:') ? name.split('/').pop()! : name;
      return { Ref: id, KeyId: id, Arn: name.startsWith('arn:') ? name : arn('kms', `key/${id}`) }[
        attr
      ];
    }
    case 'AWS::KMS::Alias':
      return { Ref: name }[attr];
    case 'AWS::IAM::Role': {
      const path = (resource.Properties?.Path as string | undefined) ?? '/';
      return { Ref: name, Arn: arn('iam', `role${path}${name}`, '') }[attr];
    }
    case 'AWS::IAM::ManagedPolicy': {
      const path = (resource.Properties?.Path as string | undefined) ?? '/';
      const policyArn = arn('iam', `policy${path}${name}`, '');
      return { Ref: policyArn, PolicyArn: policyArn }[attr];
    }
    case 'AWS::IAM::Policy':
      return { Ref: name }[attr];
    case 'AWS::Lambda::Function':
      return { Ref: name, Arn: arn('lambda', `function:${name}`) }[attr];
    case 'AWS::Logs::LogGroup':
      return { Ref: name, Arn: arn('logs', `log-group:${name}:*`) }[attr];
    case 'AWS::SNS::Topic': {
      const topic = arn('sns', name);
      return { Ref: topic, TopicArn: topic, TopicName: name }[attr];
    }
    case 'AWS::SQS::Queue':
      return {
        Ref: `https://sqs.${region}.amazonaws.com/${account}/${name}`,
        Arn: arn('sqs', name),
        QueueName: name,
      }[attr];
    case 'AWS::SecretsManager::Secret': {
      const secret = arn('secretsmanager', `secret:${name}`);
      return { Ref: secret, Id: secret }[attr];
    }
    case 'AWS::ApiGatewayV2::Api':
      return {
        Ref: name,
        ApiId: name,
        ApiEndpoint: `https://${name}.execute-api.${region}.amazonaws.com`,
      }[attr];
    default:
      return attr === 'Ref' ? name : undefined;
  }
}

function resourcePolicyOfResource(r: CfnResource): unknown {
  if (r.Type === 'AWS::KMS::Key') return r.Properties?.KeyPolicy;
  if (r.Type === 'AWS::DynamoDB::Table')
    return (r.Properties?.ResourcePolicy as { PolicyDocument?: unknown } | undefined)
      ?.PolicyDocument;
  return undefined;
}

const list = (v: unknown): string[] =>
  v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [v as string];

/** The AWS principals a resolved statement names. */
function awsPrincipals(principal: unknown): string[] {
  if (principal === '*') return ['*'];
  if (!principal || typeof principal !== 'object') return [];
  return list((principal as { AWS?: unknown }).AWS);
}

/** The logical ids a template list of `{ Ref: id }` names. */
function refsOf(v: unknown): string[] {
  return (Array.isArray(v) ? v : [])
    .map((x) => (x as { Ref?: unknown }).Ref)
    .filter((x): x is string => typeof x === 'string');
}

/** Whether a raw (unresolved) statement's Principal names `logicalId` (GetAtt …Arn or Ref). */
function namesLogicalId(principal: unknown, logicalId: string): boolean {
  if (!principal || typeof principal !== 'object') return false;
  return list((principal as { AWS?: unknown }).AWS as never).some((p: unknown) => {
    if (!p || typeof p !== 'object') return false;
    const getAtt = (p as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return getAtt[0] === logicalId;
    return (p as { Ref?: unknown }).Ref === logicalId;
  });
}

/**
 * A copy of `template` in which `principalLogicalId` (a role, or a managed policy) no longer holds
 * `action`: taken out of the role's inline policies, of every IAM policy attached to it (or of the
 * managed policy itself), and of every resource-policy statement naming it. A statement left with
 * no action goes. Throws when the principal held no such action, so a mutation is never a no-op.
 */
export function withoutAction(
  template: CfnTemplate,
  principalLogicalId: string,
  action: string,
): CfnTemplate {
  const copy = structuredClone(template) as CfnTemplate;
  let removed = 0;
  const strip = (
    doc: { Statement?: unknown } | undefined,
    applies: (s: PolicyStatement) => boolean,
  ) => {
    if (!doc || (!Array.isArray(doc.Statement) && typeof doc.Statement !== 'object')) return;
    const statements = (
      Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]
    ) as PolicyStatement[];
    doc.Statement = statements.flatMap((s) => {
      if (!applies(s) || s.Action === undefined) return [s];
      const actions = list(s.Action);
      const kept = actions.filter((a) => a.toLowerCase() !== action.toLowerCase());
      removed += actions.length - kept.length;
      if (kept.length === actions.length) return [s];
      return kept.length === 0 ? [] : [{ ...s, Action: kept.length === 1 ? kept[0]! : kept }];
    });
  };
  for (const [id, r] of Object.entries(copy.Resources)) {
    const p = r.Properties as Record<string, unknown> | undefined;
    if (!p) continue;
    if (
      IAM_POLICY_TYPES.has(r.Type) &&
      (id === principalLogicalId || refsOf(p.Roles).includes(principalLogicalId))
    )
      strip(p.PolicyDocument as { Statement?: unknown }, () => true);
    if (r.Type === 'AWS::IAM::Role' && id === principalLogicalId)
      for (const inline of (p.Policies as
        Array<{ PolicyDocument: { Statement?: unknown } }> | undefined) ?? [])
        strip(inline.PolicyDocument, () => true);
    const resourcePolicy = resourcePolicyOfResource(r) as { Statement?: unknown } | undefined;
    strip(resourcePolicy, (s) => namesLogicalId(s.Principal, principalLogicalId));
  }
  if (removed === 0) throw new Error(`${principalLogicalId} holds no ${action} to take away`);
  return copy;
}
