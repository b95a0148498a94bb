/**
 * The app's stack (bin/app.ts): one environment's configuration file, one XaaAuthorizationServer.
 * The environment's name is part of the stack name, so deploying one environment can never
 * reconfigure another; every environment but the playground is protected from deletion.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DEFAULT_ENVIRONMENT, type EnvironmentConfig } from './environment-config.js';
import { XaaAuthorizationServer } from './xaa-authorization-server.js';

export const STACK_NAME_PREFIX = 'XaaAuthServer';

export function stackNameFor(environment: string): string {
  return `${STACK_NAME_PREFIX}-${environment}`;
}

export interface XaaAuthServerStackProps extends StackProps {
  readonly environment: EnvironmentConfig;
}

export class XaaAuthServerStack extends Stack {
  readonly server: XaaAuthorizationServer;

  constructor(scope: Construct, id: string, props: XaaAuthServerStackProps) {
    const { environment, ...stackProps } = props;
    super(scope, id, {
      description: `Cross App Access authorization server (ID-JAG to RFC 9068 access tokens), environment ${environment.name}`,
      // The playground is disposable; anything else needs an explicit act to delete.
      terminationProtection: environment.name !== DEFAULT_ENVIRONMENT,
      ...(environment.env && { env: environment.env }),
      ...stackProps,
    });
    this.server = new XaaAuthorizationServer(this, 'AuthServer', environment.props);
  }
}
