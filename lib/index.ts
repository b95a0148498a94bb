/**
 * The public surface: the construct, its props, the parts it exposes as fields (so their types can
 * be named), and the pieces a stack may want to reach.
 */
export {
  XaaAuthorizationServer,
  type XaaAuthorizationServerOptions,
} from './xaa-authorization-server.js';
export {
  XaaConfigError,
  UNRESERVED_CONCURRENCY_MINIMUM,
  type AlarmsProps,
  type CustomDomainProps,
  type EdgeProtectionProps,
  type RemovalPolicies,
  type ResolvedCustomDomain,
  type ResolvedServerProps,
  type ResolvedThrottle,
  type ResolvedTokenFunction,
  type SampleResourceProps,
  type ThrottleProps,
  type TokenFunctionProps,
  type TrustedIssuerProps,
  type ClientMetadataDocumentRule,
  type XaaAuthorizationServerProps,
} from './server-props.js';
export {
  ALARM_IDS,
  DEFAULT_ALARM_THRESHOLDS,
  Observability,
  type AlarmId,
  type AlarmThresholds,
  type ObservabilityProps,
} from './observability.js';
export type { SigningKeyEntry, SigningKeys } from './signing-keys.js';
export type { ClientStore } from './client-store.js';
export type { AuthorizationServerApi } from './authorization-server-api.js';
export type { RouteFunction } from './route-function.js';
export type { PublishedJwks } from './published-jwks.js';
export type { OperatorPolicy } from './operator-policy.js';
export type { SampleResource } from './sample-resource.js';
export {
  loadEnvironmentConfig,
  parseEnvironmentConfig,
  parseEnvironmentFile,
  type EnvironmentConfig,
} from './environment-config.js';
export {
  XaaAuthServerStack,
  stackNameFor,
  type XaaAuthServerStackProps,
} from './xaa-auth-server-stack.js';
/** For a stack outside us-east-1: make the edge web ACL in a us-east-1 stack, pass its ARN as edgeProtection.webAclArn. */
export { EdgeWebAcl, type EdgeWebAclProps, type EdgeProtection } from './edge-protection.js';
