/**
 * Builds the app's stack as `cdk synth -c config=NAME` does (cdk.json feature flags, a config file),
 * by default without bundling. `config` holds overrides of config/playground.json, written as a
 * config file would write them.
 */
import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseEnvironmentConfig } from '../../lib/environment-config.js';
import { XaaAuthServerStack, stackNameFor } from '../../lib/xaa-auth-server-stack.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

export const PLAYGROUND = JSON.parse(
  readFileSync(new URL('../../config/playground.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** The construct's id in the app's stack: every logical id starts with it. */
export const SERVER_ID = 'AuthServer';

export interface BuildOptions {
  /** Bundle the functions with esbuild (slow): only the one real synth test does. */
  readonly bundle?: boolean;
  readonly nag?: boolean;
  readonly outdir?: string;
  /** The environment's name. @default 'playground' */
  readonly environment?: string;
}

export function buildStack(config: Record<string, unknown> = {}, options: BuildOptions = {}) {
  const app = new App({
    ...(options.outdir && { outdir: options.outdir }),
    context: {
      ...cdkJson.context,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const name = options.environment ?? 'playground';
  const stack = new XaaAuthServerStack(app, stackNameFor(name), {
    environment: {
      name,
      file: `config/${name}.json`,
      props: parseEnvironmentConfig({ ...PLAYGROUND, ...config }),
    },
  });
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

export function templateOf(config: Record<string, unknown> = {}, options: BuildOptions = {}) {
  return Template.fromStack(buildStack(config, options).stack);
}

export type Resource = {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};

export function resources(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type)) as Array<[string, Resource]>;
}

/** A logical id without the server construct's prefix: `AuthServerTokenFunction...` → `TokenFunction...`. */
export const local = (id: string) => id.replace(new RegExp(`^${SERVER_ID}`), '');

/** The logical id of the one resource of `type` whose id (within the construct) starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) =>
    local(id).startsWith(prefix),
  );
  if (ids.length !== 1)
    throw new Error(`expected one ${type} named ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}
