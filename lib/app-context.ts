/**
 * CDK context → which environment to build. Only `config` is read; the per-setting context keys of
 * earlier versions are refused with a pointer to the file, because `-c` settings are not
 * remembered: a later plain deploy would quietly undo them.
 */
import type { Node } from 'constructs';
import {
  DEFAULT_ENVIRONMENT,
  loadEnvironmentConfig,
  type EnvironmentConfig,
} from './environment-config.js';
import { XaaConfigError } from './server-props.js';

/** Earlier context keys → where the setting lives now (docs/deploy.md, "Coming from -c settings"). */
export const RETIRED_CONTEXT_KEYS: Readonly<Record<string, string>> = {
  stackName: 'the stack name is XaaAuthServer-<config name>; pick the name with -c config=NAME',
  trustedIssuers:
    '"trustedIssuers" (members issuer, jwksUri, algorithms, maxAssertionLifetime, allowReuse, subjectPrefix)',
  corsOrigins: '"corsOrigins" (an array)',
  accessTokenTtl: '"accessTokenLifetime" (seconds)',
  maxAccessTokenTtl: '"maxAccessTokenLifetime" (seconds)',
  scopesSupported: '"scopesSupported" (an array)',
  throttle: '"throttle"',
  tokenThrottle: '"tokenThrottle"',
  signingKeys: '"signingKeys"',
  customDomain: '"customDomain"',
  logRetentionDays: '"logRetention" (days)',
  sampleResource: '"sampleResource"',
};

export function configFromContext(node: Node, dir?: string): EnvironmentConfig {
  for (const [key, where] of Object.entries(RETIRED_CONTEXT_KEYS)) {
    if (node.tryGetContext(key) !== undefined) {
      throw new XaaConfigError(
        `-c ${key}`,
        `settings are no longer read from CDK context; put it in config/<environment>.json as ${where}`,
      );
    }
  }
  const name = node.tryGetContext('config') as unknown;
  if (name !== undefined && typeof name !== 'string')
    throw new XaaConfigError('-c config', 'must be an environment name');
  return loadEnvironmentConfig(name ?? DEFAULT_ENVIRONMENT, ...(dir ? [dir] : []));
}
