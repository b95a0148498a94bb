/**
 * The operator's IAM managed policy: exactly what the admin CLI (`npm run admin -- --stack NAME`)
 * needs against this deployment, and nothing else. Attach it to the operator's role or group; its ARN
 * is the `OperatorPolicyArn` output. The admin never reads a client secret back and never touches
 * the replay table or the signing keys.
 */
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, ManagedPolicy, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CLIENT_SECRET_STACK_TAG } from '../lambda/cdk-shared/stack-outputs.js';

export interface OperatorPolicyProps {
  readonly clientsTable: ITable;
  /** The client secrets' ARN pattern (ClientStore.secretArnPattern). */
  readonly secretArnPattern: string;
}

/** What the admin does to client secrets: create (tagged), replace, stage versions, delete. */
export const OPERATOR_SECRET_ACTIONS = [
  'secretsmanager:DeleteSecret',
  'secretsmanager:ListSecretVersionIds',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
] as const;

/** What the admin CLI needs on a deployed stack: the client registry, the client secrets, the stack's outputs. */
export class OperatorPolicy extends Construct {
  /** Attach it to the operator's role or group. */
  readonly policy: ManagedPolicy;
  /** This stack by name, whatever id CloudFormation gave it (the stack ARN ends in one). */
  readonly stackArnPattern: string;
  private readonly statements: readonly PolicyStatement[];

  constructor(scope: Construct, id: string, props: OperatorPolicyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const tagged = {
      StringEquals: { [`aws:RequestTag/${CLIENT_SECRET_STACK_TAG}`]: stack.stackName },
    };
    this.stackArnPattern = Arn.format(
      {
        service: 'cloudformation',
        resource: 'stack',
        resourceName: `${stack.stackName}/*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      stack,
    );
    this.statements = [
      // The admin finds the table and the secret prefix in the stack's outputs.
      new PolicyStatement({
        actions: ['cloudformation:DescribeStacks'],
        resources: [this.stackArnPattern],
      }),
      new PolicyStatement({
        actions: [
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Scan',
          'dynamodb:UpdateItem',
        ],
        resources: [props.clientsTable.tableArn],
      }),
      // A new secret must carry the stack's tag: tagging at creation needs TagResource too,
      // allowed for that tag only.
      new PolicyStatement({
        actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
        resources: [props.secretArnPattern],
        conditions: {
          ...tagged,
          'ForAllValues:StringEquals': { 'aws:TagKeys': [CLIENT_SECRET_STACK_TAG] },
        },
      }),
      new PolicyStatement({
        actions: [...OPERATOR_SECRET_ACTIONS],
        resources: [props.secretArnPattern],
      }),
    ];
    this.policy = new ManagedPolicy(this, 'Policy', {
      description: `Admin CLI for the xaa-auth-server stack ${stack.stackName}: clients and their secrets`,
      statements: this.statements.map((s) => s.copy()),
    });
  }

  /** The same statements on `grantee`'s own policy, for a principal of the app. */
  grantTo(grantee: IGrantable): Grant {
    return this.statements
      .map((statement) =>
        Grant.addToPrincipal({
          grantee,
          actions: statement.actions,
          resourceArns: statement.resources,
          ...(Object.keys(statement.conditions ?? {}).length > 0 && {
            conditions: statement.conditions as Record<string, Record<string, unknown>>,
          }),
        }),
      )
      .reduce((all, one) => all.combine(one));
  }
}
