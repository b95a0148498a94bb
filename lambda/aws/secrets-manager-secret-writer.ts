/** Client secrets written by the admin CLI (never by a Lambda function): one secret per client. */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { WritableSecretStore } from '../admin/client-admin.js';

export class SecretsManagerSecretWriter implements WritableSecretStore {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly description = 'OAuth client secret of the xaa-auth-server',
    /** Set on every secret created: the stack's tag, which the operator policy requires. */
    private readonly tags: Readonly<Record<string, string>> = {},
  ) {}

  async putSecret(ref: string, secret: string): Promise<void> {
    await this.client.send(
      new CreateSecretCommand({
        Name: ref,
        SecretString: secret,
        Description: this.description,
        ...(Object.keys(this.tags).length > 0 && {
          Tags: Object.entries(this.tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      }),
    );
  }

  async deleteSecret(ref: string): Promise<void> {
    try {
      // Without recovery: the client record is gone with it, so a restored secret would serve nothing,
      // and a removed client's secret must stop working now.
      await this.client.send(
        new DeleteSecretCommand({ SecretId: ref, ForceDeleteWithoutRecovery: true }),
      );
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
    }
  }
}
