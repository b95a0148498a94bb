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
} as const;
