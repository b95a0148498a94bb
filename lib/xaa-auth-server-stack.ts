/**
 * The app's stack (bin/app.ts): one environment's configuration file, one XaaAuthorizationServer.
 * The environment's name is part of the stack name, so deploying one environment can never
 * reconfigure another; every environment but the playground is protected from deletion.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DEFAULT_ENVIRONMENT, type EnvironmentConfig } from './environment-config.js';
import { XaaAuthorizationServer } from './xaa-authorization-server.js';

/** Every environment's stack is named `XaaAuthServer-<environment>`. */
export const STACK_NAME_PREFIX = 'XaaAuthServer';

/**
 * The stack name of an environment, as the admin CLI's `--stack` takes it.
 * @example stackNameFor('prod') // 'XaaAuthServer-prod'
 */
export function stackNameFor(environment: string): string {
  return `${STACK_NAME_PREFIX}-${environment}`;
}

/** The stack's props: the environment, and any StackProps (which override the environment's). */
export interface XaaAuthServerStackProps extends StackProps {
  /** The configuration file, loaded (loadEnvironmentConfig). */
  readonly environment: EnvironmentConfig;
}

/**
 * The app's stack: one environment, one server.
 *
 * @example
 * ```ts
 * const environment = loadEnvironmentConfig('prod');
 * new XaaAuthServerStack(app, stackNameFor(environment.name), { environment });
 * ```
 */
export class XaaAuthServerStack extends Stack {
  /** The environment's server. */
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
