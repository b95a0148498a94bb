/**
 * The stack's CloudFormation output keys: written by the stack (lib/), read by the admin CLI to
 * find a deployed stack's table and secret names without anyone copying them around.
 */
export const STACK_OUTPUTS = {
  issuer: 'IssuerUrl',
  clientsTable: 'ClientsTableName',
  replayTable: 'ReplayTableName',
  secretPrefix: 'ClientSecretPrefix',
  activeSigningKey: 'ActiveSigningKeyArn',
  customDomainTarget: 'CustomDomainTarget',
  /** The Route 53 hosted zone of CustomDomainTarget, for an alias record made outside the stack. */
  customDomainHostedZoneId: 'CustomDomainHostedZoneId',
  operatorPolicy: 'OperatorPolicyArn',
  /**
   * The token function's non-secret service variables (TRUSTED_ISSUERS, MAX_ACCESS_TOKEN_TTL, ...)
   * as JSON: the admin judges clients and assertions by what the stack runs with.
   */
  serviceEnvironment: 'ServiceEnvironment',
} as const;

/**
 * The tag every client secret carries, its value the stack's name: the operator policy
 * (lib/operator-policy.ts) lets the admin create a secret only with it, so each secret can be traced
 * to its stack (and found at teardown).
 */
export const CLIENT_SECRET_STACK_TAG = 'xaa-auth-server:stack';
