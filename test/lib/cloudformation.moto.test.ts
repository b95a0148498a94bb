/**
 * The synthesized template, deployed to moto's CloudFormation: the stack completes, and what it
 * created has the protections the template tests assert (key policies, deletion protection,
 * retention). Then the data-safety path end to end: delete the stack, find the clients table kept,
 * deploy again with `existingClientsTableName`, and the new token function uses the kept table.
 *
 * What moto cannot create is removed first, and every reference to it replaced by a placeholder:
 * - AWS::ApiGatewayV2::* (moto has no API Gateway v2 in CloudFormation): the HTTP API, its routes,
 *   integrations, stage and (with a custom domain) domain name and mapping;
 * - Custom::PublishedJwks (moto would have to run the publisher Lambda, which needs Docker).
 * The function code is uploaded to moto's S3 at the asset locations, as `cdk deploy` would.
 */
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  type Stack as CfnStack,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetKeyPolicyCommand, KMSClient } from '@aws-sdk/client-kms';
import { describeWithMoto, startMoto, uniqueName, type Moto } from '../support/moto.js';
import { templateOf } from './stack-fixture.js';

type Template = {
  Parameters?: Record<string, unknown>;
  Rules?: Record<string, unknown>;
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; DependsOn?: string | string[] }
  >;
  Outputs?: Record<string, { Value: unknown }>;
};

/** Resource types moto's CloudFormation cannot create (see above). */
const UNSUPPORTED = [/^AWS::ApiGatewayV2::/, /^Custom::/];

/** The template without what moto lacks; references to removed resources become placeholders. */
export function forMoto(template: Template): { template: Template; removed: string[] } {
  const removed = Object.entries(template.Resources)
    .filter(([, r]) => UNSUPPORTED.some((re) => re.test(r.Type)))
    .map(([id]) => id);
  const gone = new Set(removed);
  const replace = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(replace);
    if (typeof value !== 'object' || value === null) return value;
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string' && gone.has(o.Ref)) return `removed-${o.Ref}`;
    const getAtt = o['Fn::GetAtt'] as [string, string] | undefined;
    if (Array.isArray(getAtt) && gone.has(getAtt[0]))
      return getAtt[1] === 'ApiEndpoint'
        ? 'https://removed-api.execute-api.us-east-1.amazonaws.com'
        : `removed-${getAtt[0]}-${getAtt[1]}`;
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, replace(v)]));
  };
  const resources: Template['Resources'] = {};
  for (const [id, r] of Object.entries(template.Resources)) {
    if (gone.has(id)) continue;
    const dependsOn = [r.DependsOn ?? []].flat().filter((d) => !gone.has(d));
    resources[id] = {
      ...(replace(r) as Template['Resources'][string]),
      ...(r.DependsOn && { DependsOn: dependsOn }),
    };
  }
  // The bootstrap version check reads an SSM parameter `cdk bootstrap` would have made.
  const { Parameters: _p, Rules: _r, ...rest } = template;
  return {
    template: {
      ...rest,
      Resources: resources,
      ...(template.Outputs && { Outputs: replace(template.Outputs) as Template['Outputs'] }),
    },
    removed,
  };
}

/** An empty zip archive: moto stores function code without running it. */
const EMPTY_ZIP = Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)]);

async function uploadAssets(moto: Moto, template: Template): Promise<void> {
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const code = r.Properties!.Code as { S3Bucket: { 'Fn::Sub': string }; S3Key: string };
    const bucket = code.S3Bucket['Fn::Sub']
      .replace('${AWS::AccountId}', '123456789012')
      .replace('${AWS::Region}', 'us-east-1');
    // moto answers a second CreateBucket with success, but then refuses writes to the bucket.
    if (!(await fetch(`${moto.endpoint}/${bucket}`, { method: 'HEAD' })).ok)
      await fetch(`${moto.endpoint}/${bucket}`, { method: 'PUT' });
    const object = `${moto.endpoint}/${bucket}/${code.S3Key}`;
    // An asset is content-addressed: one upload serves every deploy.
    if ((await fetch(object, { method: 'HEAD' })).ok) continue;
    const put = await fetch(object, { method: 'PUT', body: new Uint8Array(EMPTY_ZIP) });
    expect([put.status, put.ok ? '' : await put.text()]).toEqual([200, '']);
  }
}

async function deploy(cfn: CloudFormationClient, name: string, template: Template) {
  await cfn.send(
    new CreateStackCommand({
      StackName: name,
      TemplateBody: JSON.stringify(template),
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
    }),
  );
  return settle(cfn, name, /_IN_PROGRESS$/);
}

/** Polls until the stack leaves the in-progress states (moto is quick; jest's timeout bounds it). */
async function settle(cfn: CloudFormationClient, name: string, busy: RegExp): Promise<CfnStack> {
  for (;;) {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: name }));
    const stack = Stacks![0]!;
    if (!busy.test(stack.StackStatus!)) return stack;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describeWithMoto('the template on moto CloudFormation', () => {
  let moto: Moto;
  let cfn: CloudFormationClient;
  let kms: KMSClient;
  let dynamodb: DynamoDBClient;

  beforeAll(async () => {
    moto = await startMoto();
    cfn = new CloudFormationClient(moto.clientConfig);
    kms = new KMSClient(moto.clientConfig);
    dynamodb = new DynamoDBClient(moto.clientConfig);
  }, 30_000);
  afterAll(async () => {
    for (const c of [cfn, kms, dynamodb]) c?.destroy();
    await moto?.stop();
  });

  test('the stack completes; then a teardown keeps the clients table and a redeploy re-attaches it', async () => {
    const original = templateOf({ removalPolicies: undefined }).toJSON() as Template;
    const { template, removed } = forMoto(original);
    // Only API Gateway v2 and the custom resource are left out; everything else is created.
    expect([...new Set(removed.map((id) => original.Resources[id]!.Type))].sort()).toEqual([
      'AWS::ApiGatewayV2::Api',
      'AWS::ApiGatewayV2::Integration',
      'AWS::ApiGatewayV2::Route',
      'AWS::ApiGatewayV2::Stage',
      'Custom::PublishedJwks',
    ]);
    await uploadAssets(moto, template);

    const stackName = uniqueName('XaaAuthServer-moto');
    const created = await deploy(cfn, stackName, template);
    expect([created.StackStatus, created.StackStatusReason]).toEqual([
      'CREATE_COMPLETE',
      undefined,
    ]);
    const { StackResources } = await cfn.send(
      new DescribeStackResourcesCommand({ StackName: stackName }),
    );
    expect(StackResources!.map((r) => r.LogicalResourceId).sort()).toEqual(
      Object.keys(template.Resources).sort(),
    );
    expect(StackResources!.filter((r) => r.ResourceStatus !== 'CREATE_COMPLETE')).toEqual([]);
    const physical = (prefix: string) =>
      StackResources!.find((r) => r.LogicalResourceId!.startsWith(prefix))!.PhysicalResourceId!;

    // The signing key as KMS holds it: Sign for the token role alone, RS256 only.
    const { Policy } = await kms.send(
      new GetKeyPolicyCommand({
        KeyId: physical('AuthServerSigningKeyskey1'),
        PolicyName: 'default',
      }),
    );
    // moto hands back the policy CloudFormation gave it as an object, KMS as a string: take either.
    const policy: unknown = typeof Policy === 'string' ? JSON.parse(Policy) : Policy;
    const statements = (policy as { Statement: Array<{ Action: string | string[] }> }).Statement;
    const signing = statements.filter((s) => [s.Action].flat().includes('kms:Sign'));
    expect(signing).toHaveLength(1);
    expect(JSON.stringify(signing[0])).toContain('RSASSA_PKCS1_V1_5_SHA_256');

    const clientsTable = physical('AuthServerClientStoreClientsTable');
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: clientsTable }));
    expect(Table!.DeletionProtectionEnabled).toBe(true);

    // Teardown: the stack goes, the clients table stays.
    await cfn.send(new DeleteStackCommand({ StackName: stackName }));
    await settle(cfn, stackName, /_IN_PROGRESS$/).catch(() => undefined);
    const kept = await dynamodb.send(new DescribeTableCommand({ TableName: clientsTable }));
    expect(kept.Table!.TableStatus).toBe('ACTIVE');

    // Coming back: the same environment, re-attached to the kept table.
    const again = forMoto(
      templateOf({
        removalPolicies: undefined,
        existingClientsTableName: clientsTable,
      }).toJSON() as Template,
    ).template;
    // Same code, same content-addressed assets: already uploaded.
    const redeployed = await deploy(cfn, `${stackName}-again`, again);
    expect([redeployed.StackStatus, redeployed.StackStatusReason]).toEqual([
      'CREATE_COMPLETE',
      undefined,
    ]);
    expect(redeployed.Outputs!.find((o) => o.OutputKey === 'ClientsTableName')!.OutputValue).toBe(
      clientsTable,
    );
  }, 120_000);
});
