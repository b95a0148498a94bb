/**
 * The custom-resource framework for one of our deploy-time functions, as every such construct here
 * needs it: the framework's own function writes only to its own log group (the default role carries
 * AWSLambdaBasicExecutionRole, which may write to any), and that group goes with the stack
 * (deploy-time diagnostics, not the audit trail). The children are made on the caller's scope with
 * fixed ids, so the caller's logical ids are those it always had.
 */
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import type { RouteFunction } from './route-function.js';

export interface OwnProviderProps {
  /** The function that handles the resource's events. */
  readonly handler: RouteFunction;
  /** What the resources are, for the framework role's description: "the published JWKS". */
  readonly purpose: string;
  /** The handler by name, for the acknowledgement's reason: "the JWKS publisher". */
  readonly handlerName: string;
  readonly logRetention: RetentionDays;
}

export function providerWithOwnLogs(scope: Construct, props: OwnProviderProps): Provider {
  const logs = new LogGroup(scope, 'ProviderLogs', {
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new Role(scope, 'ProviderRole', {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: `Custom resource framework of ${props.purpose}`,
  });
  logs.grantWrite(role);
  const provider = new Provider(scope, 'Provider', {
    onEventHandler: props.handler.function,
    frameworkOnEventRole: role,
    logGroup: logs,
  });
  // The framework invokes the handler (and its versions): CDK grants lambda:InvokeFunction on the
  // function ARN and on "ARN:*".
  const handlerId = Stack.of(scope).resolve(
    (props.handler.function.node.defaultChild as CfnFunction).logicalId,
  ) as string;
  Validations.of(role).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${handlerId}.Arn>:*]`,
    reason:
      `The custom resource framework may invoke ${props.handlerName} and its versions only: the provider ` +
      'framework grants lambda:InvokeFunction on the function ARN and on ARN:* (qualified ARNs); nothing else is reachable.',
  });
  return provider;
}
