/** The public surface: the construct, its props, and the pieces a stack may want to reach. */
export {
  XaaAuthorizationServer,
  type XaaAuthorizationServerOptions,
} from './xaa-authorization-server.js';
export {
  XaaConfigError,
  type AlarmsProps,
  type CustomDomainProps,
  type EdgeProtectionProps,
  type RemovalPolicies,
  type SampleResourceProps,
  type ThrottleProps,
  type TrustedIssuerProps,
  type XaaAuthorizationServerProps,
} from './server-props.js';
export type { SigningKeyEntry } from './signing-keys.js';
export { loadEnvironmentConfig, parseEnvironmentConfig } from './environment-config.js';
/** For a stack outside us-east-1: make the edge web ACL in a us-east-1 stack, pass its ARN as edgeProtection.webAclArn. */
export { EdgeWebAcl, type EdgeWebAclProps } from './edge-protection.js';
