/** Client secrets written by the admin CLI (never by a Lambda function): one secret per client. */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { WritableSecretStore } from './client-admin.js';
import { PREVIOUS_UNTIL_LABEL } from '../../lambda/aws/secrets-manager-secret-store.js';

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

  /**
   * AUTH-SECRET: one PutSecretValue makes the new value AWSCURRENT (Secrets Manager moves
   * AWSPREVIOUS to the value it replaces) and, for a grace period, labels it with the period's end
   * (secrets-manager-secret-store.ts reads it). Never reads a secret.
   */
  async rotateSecret(ref: string, secret: string, previousUntil?: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutSecretValueCommand({
          SecretId: ref,
          SecretString: secret,
          VersionStages: [
            'AWSCURRENT',
            ...(previousUntil === undefined ? [] : [`${PREVIOUS_UNTIL_LABEL}${previousUntil}`]),
          ],
        }),
      );
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return false;
      throw err;
    }
    await this.removeStaleLabels(ref);
    return true;
  }

  /**
   * A grace label left on an older version describes a grace period that is over (only the
   * AWSCURRENT version's is read), and a secret holds a bounded number of labels: remove them.
   */
  private async removeStaleLabels(ref: string): Promise<void> {
    let NextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListSecretVersionIdsCommand({ SecretId: ref, NextToken }),
      );
      for (const version of page.Versions ?? []) {
        const stages = version.VersionStages ?? [];
        if (stages.includes('AWSCURRENT') || !version.VersionId) continue;
        for (const stage of stages.filter((s) => s.startsWith(PREVIOUS_UNTIL_LABEL))) {
          await this.client.send(
            new UpdateSecretVersionStageCommand({
              SecretId: ref,
              VersionStage: stage,
              RemoveFromVersionId: version.VersionId,
            }),
          );
        }
      }
      NextToken = page.NextToken;
    } while (NextToken);
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
