/**
 * `npm run admin -- clients add --jwks-file FILE | --jwks-uri URL` (AUTH-PRIVATE-KEY-JWT): a client
 * registered with its public keys and no secret. Nothing secret is stored or printed; what cannot
 * be a key client's keys is refused with a message saying why; a key client has no secret to rotate.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdmin } from '../../bin/admin.js';
import { AdminError } from '../../local/admin/client-admin.js';
import { LocalStore } from '../../local/local-store.js';
import { ClientKey } from '../support/client-keys.js';

let dataDir: string;
let env: Record<string, string>;
let key: ClientKey;
beforeAll(async () => {
  key = await ClientKey.generate('ES256');
});
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'xaa-admin-keys-'));
  env = { DATA_DIR: dataDir, CHOSEN_SECRET: 'a-very-long-secret-value' };
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

async function admin(...argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  await runAdmin(argv, env, (l) => lines.push(l));
  return lines;
}

async function adminError(...argv: string[]): Promise<AdminError> {
  const err = await admin(...argv).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AdminError);
  return err as AdminError;
}

async function stored<T>(read: (store: LocalStore) => Promise<T>): Promise<T> {
  const store = LocalStore.open(dataDir, { replay: false });
  try {
    return await read(store);
  } finally {
    store.close();
  }
}

/** Writes `content` (JSON unless a string) to a file in DATA_DIR's parent; returns its path. */
async function file(name: string, content: unknown): Promise<string> {
  const path = join(dataDir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const ADD = (id = 'agent') => [
  'clients',
  'add',
  '--client-id',
  id,
  '--scope',
  'read write',
  '--resource',
  'https://api.example.com/',
];

/** Nothing about the registry changed: no client, no secret. */
async function expectNothingStored() {
  await stored(async (store) => {
    expect(await store.list()).toEqual([]);
    expect(store.secretCount).toBe(0);
  });
}

describe('clients add --jwks-file', () => {
  test('a public JWKS: registered with its keys, no secret printed or stored', async () => {
    const lines = await admin(...ADD(), '--jwks-file', await file('jwks.json', key.jwks));
    const text = lines.join('\n');
    expect(lines[0]).toBe('Registered client agent');
    expect(text).toContain('private_key_jwt');
    expect(text).not.toMatch(/client_secret|secret/i);
    await stored(async (store) => {
      expect(store.secretCount).toBe(0);
      expect(await store.get('agent')).toMatchObject({
        clientId: 'agent',
        secretRef: '',
        authMethod: 'private_key_jwt',
        jwks: key.jwks,
        scopes: ['read', 'write'],
        resources: ['https://api.example.com/'],
        enabled: true,
      });
    });
  });

  test('clients show --json shows the method and the keys', async () => {
    await admin(...ADD(), '--jwks-file', await file('jwks.json', key.jwks));
    const shown = JSON.parse(
      (await admin('clients', 'show', '--client-id', 'agent', '--json'))[0]!,
    );
    expect(shown).toMatchObject({
      client_id: 'agent',
      scope: 'read write',
      resources: ['https://api.example.com/'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: key.jwks,
    });
    expect(shown).not.toHaveProperty('jwks_uri');
    expect(JSON.stringify(shown)).not.toMatch(/secret/i);
  });

  test('--json on add prints the client as show does, with no client_secret', async () => {
    const [line, ...rest] = await admin(
      ...ADD(),
      '--jwks-file',
      await file('jwks.json', key.jwks),
      '--json',
    );
    expect(rest).toEqual([]);
    const out = JSON.parse(line!) as Record<string, unknown>;
    expect(out).toMatchObject({
      client_id: 'agent',
      token_endpoint_auth_method: 'private_key_jwt',
    });
    expect(out).not.toHaveProperty('client_secret');
  });

  test('an RSA key and an EC key together are registered', async () => {
    const rsa = await ClientKey.generate('RS256');
    await admin(
      ...ADD(),
      '--jwks-file',
      await file('jwks.json', { keys: [rsa.publicJwk, key.publicJwk] }),
    );
    await stored(async (store) => expect((await store.get('agent'))?.jwks?.keys).toHaveLength(2));
  });
});

describe('clients add --jwks-uri', () => {
  test('an https URL: registered with it, no secret', async () => {
    const uri = 'https://agent.example.com/.well-known/jwks.json';
    const lines = await admin(...ADD(), '--jwks-uri', uri);
    expect(lines.join('\n')).toContain(uri);
    expect(lines.join('\n')).not.toMatch(/secret/i);
    const shown = JSON.parse(
      (await admin('clients', 'show', '--client-id', 'agent', '--json'))[0]!,
    );
    expect(shown).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: uri });
    expect(shown).not.toHaveProperty('jwks');
    expect(await stored(async (store) => store.secretCount)).toBe(0);
  });

  test('an http://localhost URL is accepted for a demo', async () => {
    await admin(...ADD(), '--jwks-uri', 'http://localhost:4000/jwks.json');
    expect(await stored(async (store) => (await store.get('agent'))?.jwksUri)).toBe(
      'http://localhost:4000/jwks.json',
    );
  });
});

describe('clients add with keys: refused, saying why, nothing stored', () => {
  test('both --jwks-uri and --jwks-file', async () => {
    const err = await adminError(
      ...ADD(),
      '--jwks-uri',
      'https://agent.example.com/jwks.json',
      '--jwks-file',
      await file('jwks.json', key.jwks),
    );
    expect(err.message).toMatch(/one of --jwks-uri and --jwks-file/);
    await expectNothingStored();
  });

  test.each([
    ['--client-secret-env', ['--client-secret-env', 'CHOSEN_SECRET']],
    ['--client-secret-stdin', ['--client-secret-stdin']],
  ])('keys with %s', async (_flag, secretFlags) => {
    const err = await adminError(
      ...ADD(),
      '--jwks-file',
      await file('jwks.json', key.jwks),
      ...secretFlags,
    );
    expect(err.message).toMatch(/a secret or with keys/);
    await expectNothingStored();
  });

  test('a file holding a private key', async () => {
    const err = await adminError(
      ...ADD(),
      '--jwks-file',
      await file('private.json', { keys: [key.privateJwk] }),
    );
    expect(err.message).toMatch(/private/);
    // The message never repeats the key.
    expect(err.message).not.toContain(String(key.privateJwk.d));
    await expectNothingStored();
  });

  test('a file holding a private key beside a public one', async () => {
    const other = await ClientKey.generate('ES256');
    const err = await adminError(
      ...ADD(),
      '--jwks-file',
      await file('mixed.json', { keys: [key.publicJwk, other.privateJwk] }),
    );
    expect(err.message).toMatch(/private/);
    await expectNothingStored();
  });

  test('a file holding a symmetric key', async () => {
    const err = await adminError(
      ...ADD(),
      '--jwks-file',
      await file('oct.json', {
        keys: [{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ', alg: 'HS256' }],
      }),
    );
    expect(err.message).not.toContain('c2VjcmV0LXNlY3JldC1zZWNyZXQ');
    await expectNothingStored();
  });

  test('a file that is not JSON', async () => {
    const path = await file('jwks.txt', 'not { json');
    const err = await adminError(...ADD(), '--jwks-file', path);
    expect(err.message).toMatch(/is not JSON/);
    expect(err.message).toContain(path);
    await expectNothingStored();
  });

  test('a file that does not exist', async () => {
    const err = await adminError(...ADD(), '--jwks-file', join(dataDir, 'nowhere.json'));
    expect(err.message).toMatch(/no such file/);
    await expectNothingStored();
  });

  test.each<[string, () => unknown, RegExp]>([
    [
      'only a key on a curve no accepted algorithm uses',
      () => ({ keys: [{ kty: 'EC', crv: 'secp256k1', x: 'AA', y: 'AA' }] }),
      /no key that can verify/,
    ],
    ['an empty key list', () => ({ keys: [] }), /no key|1 to|at least/],
    [
      'a key whose alg does not fit it',
      () => ({ keys: [{ ...key.publicJwk, alg: 'RS256' }] }),
      /no key that can verify/,
    ],
    ['a JWKS without keys', () => ({ kid: 'x' }), /must hold a JWKS/],
    ['a single key, not a set', () => key.publicJwk, /must hold a JWKS/],
    ['a JSON array', () => [key.publicJwk], /must hold a JWKS/],
  ])('%s', async (_what, content, message) => {
    const err = await adminError(...ADD(), '--jwks-file', await file('jwks.json', content()));
    expect(err.message).toMatch(message);
    await expectNothingStored();
  });

  test.each([
    ['http to a host that is not loopback', 'http://agent.example.com/jwks.json'],
    ['not a URL', 'agent.example.com/jwks.json'],
    ['a fragment', 'https://agent.example.com/jwks.json#keys'],
    ['credentials in the URL', 'https://user:pw@agent.example.com/jwks.json'],
    ['another scheme', 'ftp://agent.example.com/jwks.json'],
  ])('a jwks-uri with %s', async (_what, uri) => {
    const err = await adminError(...ADD(), '--jwks-uri', uri);
    expect(err.message).toMatch(/must be an https URL/);
    await expectNothingStored();
  });
});

describe('a key client afterwards', () => {
  beforeEach(async () => {
    await admin(...ADD(), '--jwks-file', await file('jwks.json', key.jwks));
  });

  test('rotate-secret is refused, saying it has no secret and how it rotates', async () => {
    const err = await adminError('clients', 'rotate-secret', '--client-id', 'agent');
    expect(err.message).toMatch(/private_key_jwt and has no secret/);
    expect(err.message).toMatch(/--jwks-file/);
    expect(await stored(async (store) => store.secretCount)).toBe(0);
  });

  test('rotate-secret of a jwks_uri client names where it publishes its keys', async () => {
    await admin(...ADD('published'), '--jwks-uri', 'https://agent.example.com/jwks.json');
    const err = await adminError('clients', 'rotate-secret', '--client-id', 'published');
    expect(err.message).toMatch(
      /publishing a new key at https:\/\/agent\.example\.com\/jwks\.json/,
    );
  });

  test('remove removes it (there is no secret to delete)', async () => {
    expect(await admin('clients', 'remove', '--client-id', 'agent')).toEqual([
      'Removed client agent',
    ]);
    await expectNothingStored();
    expect(await admin('clients', 'list')).toEqual(['No clients registered.']);
  });

  test('adding it again is refused; its keys stay as they were', async () => {
    const other = await ClientKey.generate('ES256');
    const err = await adminError(...ADD(), '--jwks-file', await file('other.json', other.jwks));
    expect(err.message).toMatch(/already registered/);
    expect(await stored(async (store) => (await store.get('agent'))?.jwks)).toEqual(key.jwks);
  });

  test('list marks it as a key client', async () => {
    expect((await admin('clients', 'list')).join('\n')).toMatch(/private_key_jwt/);
  });
});

describe('clients update --jwks-file / --jwks-uri: a key client rotates its keys', () => {
  test('new inline keys replace the old ones whole; a jwks_uri replaces inline keys', async () => {
    await admin(...ADD(), '--jwks-file', await file('old.json', key.jwks));
    const next = await ClientKey.generate('ES256');
    const out = await admin(
      'clients',
      'update',
      '--client-id',
      'agent',
      '--jwks-file',
      await file('new.json', next.jwks),
    );
    expect(out[0]).toBe('Updated client agent');
    const rekeyed = await stored((s) => s.get('agent'));
    expect(rekeyed?.jwks?.keys.map((k) => k.kid)).toEqual([next.publicJwk.kid]);
    expect(rekeyed).toMatchObject({ authMethod: 'private_key_jwt', scopes: ['read', 'write'] });

    await admin(
      'clients',
      'update',
      '--client-id',
      'agent',
      '--jwks-uri',
      'https://keys.example.com/j',
    );
    const moved = await stored((s) => s.get('agent'));
    expect(moved?.jwksUri).toBe('https://keys.example.com/j');
    expect(moved?.jwks).toBeUndefined();
  });

  test('a secret client is not given keys by an update', async () => {
    env.XAA_CLIENT_SECRET = 'a-chosen-secret-of-enough-length';
    await admin(...ADD('secret-agent'), '--client-secret-env', 'XAA_CLIENT_SECRET');
    const err = await adminError(
      'clients',
      'update',
      '--client-id',
      'secret-agent',
      '--jwks-file',
      await file('k.json', key.jwks),
    );
    expect(err.message).toMatch(/authenticates with a secret/);
    expect((await stored((s) => s.get('secret-agent')))?.jwks).toBeUndefined();
  });

  test('new keys are held to what add holds them to', async () => {
    await admin(...ADD(), '--jwks-file', await file('old.json', key.jwks));
    const err = await adminError(
      'clients',
      'update',
      '--client-id',
      'agent',
      '--jwks-file',
      await file('private.json', { keys: [key.privateJwk] }),
    );
    expect(err.message).toMatch(/private or symmetric key/);
    expect((await stored((s) => s.get('agent')))?.jwks?.keys.map((k) => k.kid)).toEqual([
      key.publicJwk.kid,
    ]);
  });
});
