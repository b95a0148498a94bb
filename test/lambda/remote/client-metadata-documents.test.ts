/**
 * CIMD-POLICY and CIMD-CACHE, on RemoteClientMetadataDocuments alone: which URLs a rule admits
 * (decided before anything is fetched), how long a document is reused (its Cache-Control, held
 * within bounds), how long a failure is, how many documents are held at once, and that concurrent
 * requests for one document make one fetch. Documents come from a loopback host, through the
 * development switch (CIMD-DEV-HTTP) in the policy.
 */
import type { ServerResponse } from 'node:http';
import type { ClientMetadataPolicy, ClientMetadataRule } from '../../../lambda/config.js';
import { InvalidClient, type ReasonCode } from '../../../lambda/oauth/errors.js';
import {
  RemoteClientMetadataDocuments,
  underPrefix,
  type ClientMetadataOptions,
} from '../../../lambda/remote/client-metadata-documents.js';
import { ClientHost, ClientKey } from '../../support/client-keys.js';

const RESOURCE = 'https://api.example.com/';

let host: ClientHost;
let key: ClientKey;
beforeAll(async () => {
  host = await ClientHost.start();
  key = await ClientKey.generate('ES256');
});
afterAll(() => host?.close());

describe('underPrefix (CIMD-POLICY): same scheme, port and host, and a path under the prefix', () => {
  const under = (url: string, prefix: string) => underPrefix(new URL(url), prefix);

  test.each([
    ['https://a.example/agents/x', 'https://a.example/agents/'],
    ['https://a.example/agents/x/y.json', 'https://a.example/agents/'],
    ['https://a.example/agents/', 'https://a.example/agents/'],
    ['https://A.EXAMPLE/agents/x', 'https://a.example/agents/'],
    ['https://a.example:443/agents/x', 'https://a.example/agents/'],
    ['https://a.example/anything', 'https://a.example/'],
    ['https://a.example:8443/agents/x', 'https://a.example:8443/agents/'],
    ['https://t1.example.com/x', 'https://*.example.com/'],
    ['https://a.b.example.com/x', 'https://*.example.com/'],
    ['https://t1.example.com/agents/x', 'https://*.example.com/agents/'],
  ])('%s is under %s', (url, prefix) => {
    expect(under(url, prefix)).toBe(true);
  });

  test.each([
    ['https://a.example.evil/agents/x', 'https://a.example/agents/', 'a host that extends it'],
    ['https://evil.a.example/agents/x', 'https://a.example/agents/', 'a subdomain'],
    ['https://a.example/agentsX', 'https://a.example/agents/', 'a path that extends it'],
    ['https://a.example/agents', 'https://a.example/agents/', 'the path without its slash'],
    ['https://a.example/other/agents/x', 'https://a.example/agents/', 'another path'],
    ['https://a.example/agents/../admin/x', 'https://a.example/agents/', 'dot segments out'],
    ['http://a.example/agents/x', 'https://a.example/agents/', 'another scheme'],
    ['https://a.example:8443/agents/x', 'https://a.example/agents/', 'another port'],
    ['https://a.example/agents/x', 'https://a.example:8443/agents/', 'the default port'],
    ['https://example.com/x', 'https://*.example.com/', 'the wildcard domain itself'],
    ['https://evilexample.com/x', 'https://*.example.com/', 'a host ending in the domain'],
    ['https://t1.example.com.evil/x', 'https://*.example.com/', 'a host extending the domain'],
    ['https://t1.example.com:8443/x', 'https://*.example.com/', 'another port, wildcard'],
    ['https://t1.example.com/other/x', 'https://*.example.com/agents/', 'another path, wildcard'],
  ])('%s is not under %s (%s)', (url, prefix) => {
    expect(under(url, prefix)).toBe(false);
  });
});

/** A rule for documents under `path` on the loopback host. */
const ruleFor = (path: string, more: Partial<ClientMetadataRule> = {}): ClientMetadataRule => ({
  urlPrefix: host.url(path),
  scopes: ['read'],
  resources: [RESOURCE],
  ...more,
});

/** The client metadata documents for `rules`, with http://localhost allowed (the dev switch). */
function documents(
  rules: ClientMetadataRule[] = [ruleFor('/agents/')],
  options: ClientMetadataOptions = {},
) {
  const policy: ClientMetadataPolicy = { rules, allowHttpLoopback: true };
  return new RemoteClientMetadataDocuments(policy, {
    // The loopback host listens on 127.0.0.1 whatever `localhost` resolves to first.
    resolve: () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]),
    ...options,
  });
}

/** The refusal a resolve ends with (the test fails if it resolves). */
async function refusal(docs: RemoteClientMetadataDocuments, id: string): Promise<InvalidClient> {
  const err = await docs.resolve(id).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidClient);
  return err as InvalidClient;
}

async function expectReason(docs: RemoteClientMetadataDocuments, id: string, reason: ReasonCode) {
  const err = await refusal(docs, id);
  expect(err.reason).toBe(reason);
  return err;
}

let n = 0;
const fresh = (dir = '/agents/') => `${dir}a${++n}.json`;
const hits = (path: string) => host.hits.get(path) ?? 0;

describe('CIMD-POLICY: a URL is admitted by a rule before anything is fetched', () => {
  test('a document under the prefix: its client, on the rule\u2019s terms', async () => {
    const path = fresh();
    const id = host.metadata(path, { jwks: key.jwks });
    const rule = ruleFor('/agents/', {
      issuers: ['https://idp.example'],
      tokenLifetime: 300,
      dpopBoundRequired: true,
    });
    expect(await documents([rule]).resolve(id)).toEqual({
      clientId: id,
      secretRef: '',
      authMethod: 'private_key_jwt',
      jwks: key.jwks,
      scopes: ['read'],
      resources: [RESOURCE],
      enabled: true,
      issuers: ['https://idp.example'],
      tokenLifetime: 300,
      dpopBoundRequired: true,
    });
    expect(hits(path)).toBe(1);
  });

  test('the first rule that admits the URL gives the terms', async () => {
    const id = host.metadata(fresh('/agents/team/'), { jwks: key.jwks });
    const docs = documents([
      ruleFor('/elsewhere/', { scopes: ['nope'] }),
      ruleFor('/agents/team/', { scopes: ['team'] }),
      ruleFor('/agents/', { scopes: ['everyone'] }),
    ]);
    expect((await docs.resolve(id)).scopes).toEqual(['team']);
  });

  test.each([
    ['a path that extends the prefix', (p: string) => host.url(`/agentsX${p}`)],
    ['a path outside the prefix', (p: string) => host.url(`/other${p}`)],
    [
      'another port on the same host',
      (p: string) => host.url(`/agents${p}`).replace(/:(\d+)\//, (_m, port) => `:${+port + 1}/`),
    ],
    [
      'the same path on 127.0.0.1 instead of localhost',
      (p: string) => host.url(`/agents${p}`).replace('localhost', '127.0.0.1'),
    ],
    [
      'https for the http prefix',
      (p: string) => host.url(`/agents${p}`).replace('http:', 'https:'),
    ],
  ])('%s: client_metadata_not_allowed, nothing fetched', async (_what, urlOf) => {
    const id = urlOf(`/x${++n}.json`);
    const path = new URL(id).pathname;
    host.metadata(path, { jwks: key.jwks });
    const err = await expectReason(documents(), id, 'client_metadata_not_allowed');
    expect(err.description).toContain('not a Client ID Metadata Document this server accepts');
    expect(hits(path)).toBe(0);
  });

  test('without the development switch, an http://localhost rule admits nothing', async () => {
    const path = fresh();
    const id = host.metadata(path, { jwks: key.jwks });
    const docs = new RemoteClientMetadataDocuments({
      rules: [ruleFor('/agents/')],
      allowHttpLoopback: false,
    });
    await expectReason(docs, id, 'client_metadata_not_allowed');
    expect(hits(path)).toBe(0);
  });

  test.each([
    'not a url',
    'agent-1',
    'https://user:pw@localhost/agents/x.json',
    'https://localhost/agents/x.json#frag',
    'https://localhost/agents/./x.json',
  ])('%j is not a client id URL: client_metadata_not_allowed', async (id) => {
    const docs = documents([
      { urlPrefix: 'https://localhost/', scopes: ['r'], resources: [RESOURCE] },
    ]);
    await expectReason(docs, id, 'client_metadata_not_allowed');
  });

  test('no rules: nothing is admitted', async () => {
    const path = fresh();
    const id = host.metadata(path, { jwks: key.jwks });
    await expectReason(documents([]), id, 'client_metadata_not_allowed');
    expect(hits(path)).toBe(0);
  });
});

describe('CIMD-CACHE: how long a document is reused', () => {
  const BOUNDS = {
    minTtlSeconds: 60,
    maxTtlSeconds: 3600,
    defaultTtlSeconds: 300,
    retryAfterFailureSeconds: 5,
  };
  let t: number;
  let docs: RemoteClientMetadataDocuments;
  beforeEach(() => {
    t = 1_000_000;
    docs = documents(undefined, { ...BOUNDS, now: () => t });
  });

  /** Serves a fresh document with `cacheControl`; the first resolve fetches it. */
  async function cached(cacheControl?: string): Promise<{ id: string; path: string }> {
    const path = fresh();
    const id = host.url(path);
    host.json(
      path,
      {
        client_id: id,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: key.jwks,
      },
      cacheControl === undefined ? {} : { 'cache-control': cacheControl },
    );
    await docs.resolve(id);
    expect(hits(path)).toBe(1);
    return { id, path };
  }

  /** Reused until `ttl` seconds after the fetch, and fetched again from then. */
  async function expectTtl(id: string, path: string, ttl: number) {
    t += ttl - 1;
    await docs.resolve(id);
    expect(hits(path)).toBe(1);
    t += 1;
    await docs.resolve(id);
    expect(hits(path)).toBe(2);
  }

  test.each<[string, string | undefined, number]>([
    ['max-age within the bounds is honoured', 'max-age=600', 600],
    ['max-age below the minimum is raised to it', 'max-age=5', 60],
    ['max-age=0 is raised to the minimum', 'max-age=0', 60],
    ['max-age above the maximum is cut to it', 'max-age=999999', 3600],
    ['no Cache-Control: the default', undefined, 300],
    ['no-store: the minimum', 'no-store', 60],
    ['no-cache: the minimum', 'no-cache', 60],
    ['no-store beside a long max-age: the minimum', 'max-age=3000, no-store', 60],
  ])('%s', async (_what, cacheControl, ttl) => {
    const { id, path } = await cached(cacheControl);
    await expectTtl(id, path, ttl);
  });

  test('a failure is kept only retryAfterFailureSeconds, then the URL is fetched again', async () => {
    const path = fresh();
    const id = host.on(path, (res) => res.writeHead(500).end());
    await expectReason(docs, id, 'client_metadata_unreachable');
    t += 4;
    await expectReason(docs, id, 'client_metadata_unreachable');
    expect(hits(path)).toBe(1);
    host.metadata(path, { jwks: key.jwks });
    t += 1;
    expect((await docs.resolve(id)).clientId).toBe(id);
    expect(hits(path)).toBe(2);
  });

  test('an invalid document is a failure too: kept briefly, not for its max-age', async () => {
    const path = fresh();
    const id = host.json(
      path,
      { client_id: 'https://someone-else.example/doc.json' },
      { 'cache-control': 'max-age=3600' },
    );
    await expectReason(docs, id, 'client_metadata_client_id_mismatch');
    t += 5;
    await expectReason(docs, id, 'client_metadata_client_id_mismatch');
    expect(hits(path)).toBe(2);
  });

  test('at most maxEntries documents are held; the least recently used goes first', async () => {
    docs = documents(undefined, { ...BOUNDS, now: () => t, maxEntries: 2 });
    const [a, b, c] = [fresh(), fresh(), fresh()];
    for (const p of [a, b, c]) host.metadata(p, { jwks: key.jwks });
    await docs.resolve(host.url(a));
    await docs.resolve(host.url(b));
    await docs.resolve(host.url(a)); // a is now the most recently used
    await docs.resolve(host.url(c)); // evicts b
    expect([hits(a), hits(b), hits(c)]).toEqual([1, 1, 1]);
    await docs.resolve(host.url(a));
    await docs.resolve(host.url(c));
    expect([hits(a), hits(c)]).toEqual([1, 1]);
    await docs.resolve(host.url(b));
    expect(hits(b)).toBe(2);
  });

  test('failures count against maxEntries too', async () => {
    docs = documents(undefined, { ...BOUNDS, now: () => t, maxEntries: 1 });
    const good = fresh();
    host.metadata(good, { jwks: key.jwks });
    await docs.resolve(host.url(good));
    for (let i = 0; i < 3; i++) {
      const bad = fresh();
      await expectReason(docs, host.url(bad), 'client_metadata_unreachable'); // 404
    }
    await docs.resolve(host.url(good));
    expect(hits(good)).toBe(2);
  });
});

describe('CIMD-FETCH through the cache', () => {
  test('concurrent resolves of one document make one fetch, and all get its client', async () => {
    const path = fresh();
    const id = host.url(path);
    const body = JSON.stringify({
      client_id: id,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: key.jwks,
    });
    let release!: () => void;
    const answered = new Promise<void>((resolve) => (release = resolve));
    host.on(path, (res: ServerResponse) => {
      void answered.then(() =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(body),
      );
    });
    const docs = documents();
    const all = Promise.all(Array.from({ length: 8 }, () => docs.resolve(id)));
    // Every resolve has started before the one fetch is answered.
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    const clients = await all;
    expect(new Set(clients.map((c) => c.clientId))).toEqual(new Set([id]));
    expect(hits(path)).toBe(1);
  });

  test('concurrent resolves of a failing document make one fetch, and all are refused', async () => {
    const path = fresh();
    let release!: () => void;
    const answered = new Promise<void>((resolve) => (release = resolve));
    const id = host.on(path, (res) => void answered.then(() => res.writeHead(503).end()));
    const docs = documents();
    const all = Promise.allSettled(Array.from({ length: 5 }, () => docs.resolve(id)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    const outcomes = await all;
    expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('rejected'));
    expect(hits(path)).toBe(1);
  });

  test('a host that never answers: client_metadata_timeout, within the budget', async () => {
    const path = fresh();
    const id = host.on(path, () => undefined);
    const started = performance.now();
    const err = await expectReason(
      documents(undefined, { timeoutMs: 300 }),
      id,
      'client_metadata_timeout',
    );
    expect(performance.now() - started).toBeLessThan(2000);
    expect(err.description).toContain(id);
    expect(err.description).toMatch(/no answer within 300 ms/);
  });

  test('a resolver that never answers: client_metadata_timeout', async () => {
    const docs = documents(
      [{ urlPrefix: 'https://agents.example/', scopes: ['r'], resources: [RESOURCE] }],
      {
        timeoutMs: 200,
        resolve: () => new Promise<never>(() => undefined),
      },
    );
    await expectReason(docs, 'https://agents.example/a.json', 'client_metadata_timeout');
  });

  test.each<[string, string, ReasonCode]>([
    ['a name resolving to a private address', '10.0.0.7', 'client_metadata_address_not_public'],
    [
      'a name resolving to the metadata service',
      '169.254.169.254',
      'client_metadata_address_not_public',
    ],
  ])('%s: %s is refused before connecting', async (_what, address, reason) => {
    const docs = documents(
      [{ urlPrefix: 'https://agents.example/', scopes: ['r'], resources: [RESOURCE] }],
      {
        resolve: () => Promise.resolve([{ address, family: 4 }]),
      },
    );
    await expectReason(docs, 'https://agents.example/a.json', reason);
  });

  test.each<[string, (path: string) => string, ReasonCode]>([
    [
      'too large',
      (p) => host.json(p, { client_id: host.url(p), pad: 'x'.repeat(6000) }),
      'client_metadata_too_large',
    ],
    [
      'not JSON',
      (p) => host.on(p, (res) => res.writeHead(200).end('<html>')),
      'client_metadata_not_json',
    ],
    [
      'a redirect',
      (p) =>
        host.on(p, (res) => res.writeHead(302, { location: host.url('/agents/other.json') }).end()),
      'client_metadata_redirect',
    ],
    [
      'an HTTP error',
      (p) => host.on(p, (res) => res.writeHead(500).end()),
      'client_metadata_unreachable',
    ],
    ['a JSON array', (p) => host.json(p, [host.url(p)]), 'client_metadata_invalid'],
    [
      'a jwks_uri that is not https',
      (p) => host.metadata(p, { jwks_uri: 'http://keys.example/jwks.json' }),
      'client_metadata_invalid',
    ],
    [
      'both jwks and jwks_uri',
      (p) => host.metadata(p, { jwks: key.jwks }, { jwks_uri: host.url('/k.json') }),
      'client_metadata_invalid',
    ],
    [
      'an algorithm that is not accepted',
      (p) => host.metadata(p, { jwks: key.jwks }, { token_endpoint_auth_signing_alg: 'HS256' }),
      'client_metadata_invalid',
    ],
    [
      'grant types without jwt-bearer',
      (p) => host.metadata(p, { jwks: key.jwks }, { grant_types: ['authorization_code'] }),
      'client_metadata_invalid',
    ],
    [
      'a client_id differing only by a trailing slash',
      (p) =>
        host.json(p, {
          client_id: `${host.url(p)}/`,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: key.jwks,
        }),
      'client_metadata_client_id_mismatch',
    ],
  ])('a document %s: %s', async (_what, serve, reason) => {
    await expectReason(documents(), serve(fresh()), reason);
  });
});
