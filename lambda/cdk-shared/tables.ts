/** The DynamoDB key schema, shared by the adapters, the local table set-up and the CDK stack. */
export const CLIENTS_TABLE = {
  partitionKey: 'client_id',
} as const;

export const REPLAY_TABLE = {
  partitionKey: 'id',
  /** DynamoDB TTL attribute: epoch seconds after which the record may be deleted. */
  ttlAttribute: 'expires_at',
} as const;
