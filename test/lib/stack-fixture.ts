/** Builds the stack as `cdk synth` does (cdk.json feature flags, context), by default without bundling. */
import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackConfigFromContext } from '../../lib/stack-config.js';
import { XaaAuthServerStack } from '../../lib/xaa-auth-server-stack.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

export interface BuildOptions {
  /** Bundle the functions with esbuild (slow): only the one real synth test does. */
  readonly bundle?: boolean;
  readonly nag?: boolean;
  readonly outdir?: string;
}

export function buildStack(context: Record<string, unknown> = {}, options: BuildOptions = {}) {
  const app = new App({
    ...(options.outdir && { outdir: options.outdir }),
    context: {
      ...cdkJson.context,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...context,
    },
  });
  const stack = new XaaAuthServerStack(app, 'XaaAuthServer', {
    config: stackConfigFromContext(app.node),
  });
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

export function templateOf(context: Record<string, unknown> = {}): Template {
  return Template.fromStack(buildStack(context).stack);
}

type Resource = {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};

export function resources(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type)) as Array<[string, Resource]>;
}

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1)
    throw new Error(`expected one ${type} named ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}
