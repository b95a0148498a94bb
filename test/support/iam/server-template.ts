/**
 * The app's stack synthesized for IAM checks (test/lib/stack-fixture.ts, bundling off), with the
 * logical ids of what the components run as and act on, read from the constructs rather than
 * guessed from the template's names.
 *
 *   const server = synthServer({ signingKeys: [...] }, { environment: uniqueEnvironmentName() });
 *   server.template            // CfnTemplate (template-policies.ts)
 *   server.ids.tokenRole       // logical ids: tables, keys, roles, functions, the operator policy
 *   server.stackName           // the name the operator policy and the secret prefix are written for
 */
import { Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { PublishedJwks } from '../../../lib/published-jwks.js';
import { buildStack, type BuildOptions } from '../../lib/stack-fixture.js';
import type { CfnTemplate } from './template-policies.js';

export interface ServerIds {
  readonly clientsTable: string;
  readonly replayTable: string;
  /** The HTTP API: its endpoint is the issuer when there is no custom domain. */
  readonly api: string;
  /** Every signing key, in the configured order. */
  readonly keys: readonly string[];
  readonly activeKey: string;
  readonly tokenFunction: string;
  readonly tokenRole: string;
  readonly publisherRole: string;
  /** The Custom::PublishedJwks resource: its properties are the publisher's event. */
  readonly publishedJwks: string;
  readonly operatorPolicy: string;
}

export interface SynthesizedServer {
  readonly stackName: string;
  readonly template: CfnTemplate;
  readonly ids: ServerIds;
}

export function synthServer(
  config: Record<string, unknown> = {},
  options: BuildOptions = {},
): SynthesizedServer {
  const { stack } = buildStack(config, { ...options, bundle: false });
  const server = stack.server;
  const id = (c: IConstruct) => {
    const element = (c.node.defaultChild ?? c) as CfnElement;
    return Stack.of(element).resolve(element.logicalId) as string;
  };
  const published = server.node.findChild('PublishedJwks') as PublishedJwks;
  return {
    stackName: stack.stackName,
    template: Template.fromStack(stack).toJSON() as CfnTemplate,
    ids: {
      api: id(server.api.httpApi),
      clientsTable: id(server.clients.clientsTable),
      replayTable: id(server.clients.replayTable),
      keys: server.signingKeys.all.map(id),
      activeKey: id(server.signingKeys.active),
      tokenFunction: id(server.functions.token.function),
      tokenRole: id(server.functions.token.role),
      publisherRole: id(published.publisherRole),
      publishedJwks: id(published.resource),
      operatorPolicy: id(server.operatorPolicy),
    },
  };
}

/**
 * An environment name no other test's stack uses: the stack name (XaaAuthServer-<name>) is written
 * into the operator policy and the secret prefix, and moto's CloudFormation is shared by the run.
 */
export function uniqueEnvironmentName(prefix = 'iam'): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
