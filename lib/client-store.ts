/**
 * Where clients live: the registry table (retained and deletion-protected by default, or a table
 * kept from an earlier deployment, re-attached by name), the replay-guard table (records expire by
 * TTL), and the Secrets Manager name prefix of every client secret.
 */
import { Arn, ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CLIENTS_TABLE, REPLAY_TABLE } from '../lambda/cdk-shared/tables.js';

export interface ClientStoreProps {
  /** RETAIN also turns deletion protection on. */
  readonly clientsTableRemoval: RemovalPolicy;
  /** Use this table instead of creating one (docs/operations.md, coming back after a teardown). */
  readonly existingClientsTableName?: string;
  /** The same, as a table of the app. */
  readonly existingClientsTable?: ITable;
  readonly secretPrefix?: string;
}

/** Where clients are registered: a DynamoDB registry, a replay table and secrets in Secrets Manager. */
export class ClientStore extends Construct {
  /** The client registry (its own or the one re-attached). */
  readonly clientsTable: ITable;
  /** Redeemed assertion ids (`iss`, `jti`), each kept until its assertion expires. */
  readonly replayTable: Table;
  /** Every client secret's name starts with this (the admin appends `<client id>/<random>`). */
  readonly secretPrefix: string;

  constructor(scope: Construct, id: string, props: ClientStoreProps) {
    super(scope, id);
    // Not managed here: its key schema, PITR and protection stay as they were made.
    const existing =
      props.existingClientsTable ??
      (props.existingClientsTableName !== undefined
        ? Table.fromTableName(this, 'ClientsTable', props.existingClientsTableName)
        : undefined);
    this.clientsTable =
      existing ??
      new Table(this, 'ClientsTable', {
        partitionKey: { name: CLIENTS_TABLE.partitionKey, type: AttributeType.STRING },
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        // Registered clients outlive the stack: deleting it (or a replacement by a careless
        // change) must not unregister anyone, and neither may a stray DeleteTable.
        removalPolicy: props.clientsTableRemoval,
        deletionProtection: props.clientsTableRemoval === RemovalPolicy.RETAIN,
      });
    this.replayTable = new Table(this, 'ReplayTable', {
      partitionKey: { name: REPLAY_TABLE.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: REPLAY_TABLE.ttlAttribute,
      // Records live minutes (assertion exp + skew): nothing worth keeping once the stack is gone.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.secretPrefix =
      props.secretPrefix ?? `xaa-auth-server/${Stack.of(this).stackName}/clients/`;
  }

  /** The token function's access: read a client, claim and release a jti, read client secrets. */
  grantTokenFunction(grantee: IGrantable): void {
    this.clientsTable.grant(grantee, 'dynamodb:GetItem');
    this.replayTable.grant(grantee, 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.secretArnPattern()],
      }),
    );
  }

  /** Secrets Manager appends a random suffix to a secret's ARN: the prefix and a wildcard match them all. */
  secretArnPattern(): string {
    return Arn.format(
      {
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${this.secretPrefix}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      Stack.of(this),
    );
  }
}
