/** The Secrets Manager secret store and the admin's writer against moto's Secrets Manager. */
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSecretStore } from '../../lambda/aws/secrets-manager-secret-store.js';
import { SecretsManagerSecretWriter } from '../../local/admin/secrets-manager-secret-writer.js';
import { describeWithMoto, startMoto, uniqueName, type Moto } from '../support/moto.js';

const PREFIX = 'xaa-auth-server/Test/clients/';

describeWithMoto('Secrets Manager adapters on moto', () => {
  let moto: Moto;
  let sm: SecretsManagerClient;
  let reads = 0;
  let now = 0;

  beforeAll(async () => {
    moto = await startMoto();
    sm = new SecretsManagerClient(moto.clientConfig);
    sm.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetSecretValueCommand') reads++;
        return next(args);
      },
      { step: 'initialize' },
    );
  });
  beforeEach(() => {
    reads = 0;
    now = 1_000_000;
  });
  afterAll(async () => {
    sm?.destroy();
    await moto?.stop();
  });

  const store = () =>
    new SecretsManagerSecretStore(sm, { prefix: PREFIX, refreshIntervalMs: 5000, now: () => now });
  const newSecret = async (value: string) => {
    const name = `${PREFIX}${uniqueName('c')}/abc`;
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    return name;
  };
  const rotate = (name: string, value: string) =>
    sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));

  test('a secret is read once and then served from the cache', async () => {
    const name = await newSecret('first-secret-value');
    const s = store();
    expect(await s.getSecret(name)).toBe('first-secret-value');
    expect(await s.getSecret(name)).toBe('first-secret-value');
    expect(reads).toBe(1);
  });

  test('a rotated secret is seen at once by a refresh, while a plain read keeps the cached value', async () => {
    const name = await newSecret('before-rotation-1');
    const s = store();
    expect(await s.getSecret(name)).toBe('before-rotation-1');
    await rotate(name, 'after-rotation-22');
    expect(await s.getSecret(name)).toBe('before-rotation-1');
    expect(await s.getSecret(name, { refresh: true })).toBe('after-rotation-22');
    // The refresh updated the cache for everyone.
    expect(await s.getSecret(name)).toBe('after-rotation-22');
  });

  test('refreshes are bounded: at most one forced read per secret per interval, concurrent ones share it', async () => {
    const name = await newSecret('bounded-secret-1');
    const s = store();
    await s.getSecret(name);
    reads = 0;
    await Promise.all(Array.from({ length: 5 }, () => s.getSecret(name, { refresh: true })));
    await s.getSecret(name, { refresh: true });
    expect(reads).toBe(1);
    now += 5000;
    await s.getSecret(name, { refresh: true });
    expect(reads).toBe(2);
  });

  test('a missing secret is undefined and is not cached: created a moment later, it is found', async () => {
    const name = `${PREFIX}${uniqueName('late')}/abc`;
    const s = store();
    expect(await s.getSecret(name)).toBeUndefined();
    expect(await s.getSecret(name, { refresh: true })).toBeUndefined();
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'created-later-secret' }));
    expect(await s.getSecret(name)).toBe('created-later-secret');
  });

  test('a name outside the prefix is never read', async () => {
    const outside = uniqueName('other-app/secret');
    await sm.send(new CreateSecretCommand({ Name: outside, SecretString: 'not-ours-at-all' }));
    expect(await store().getSecret(outside, { refresh: true })).toBeUndefined();
    expect(reads).toBe(0);
  });

  test('the writer creates a secret and deletes it for good; deleting a missing one is not an error', async () => {
    const writer = new SecretsManagerSecretWriter(sm);
    const name = `${PREFIX}${uniqueName('w')}/abc`;
    await writer.putSecret(name, 'written-by-admin-1');
    expect((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe(
      'written-by-admin-1',
    );
    await writer.deleteSecret(name);
    await expect(sm.send(new GetSecretValueCommand({ SecretId: name }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(await store().getSecret(name)).toBeUndefined();
    await expect(writer.deleteSecret(name)).resolves.toBeUndefined();
  });
});
