/**
 * The docs name what the code has: configuration keys the file's schema knows (a renamed key left
 * in the prose is caught), `error_description`s the server sends, and a design in the present tense
 * rather than a work log (docs/architecture.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvironmentFile } from '../../lib/environment-config.js';
import { DEFAULT_ALARM_THRESHOLDS } from '../../lib/observability.js';
import { REPO_ROOT, readRepoFiles, type Finding, type SourceFile } from './references.js';
import {
  nearestKey,
  unknownConfigKeys,
  unsentDescriptions,
  workLogLines,
  type KnownKey,
} from './stale-docs.js';

const files = readRepoFiles();
const docs = files.filter((f) => f.path === 'README.md' || /^docs\/.*\.md$/.test(f.path));
const show = (findings: readonly Finding[]) =>
  findings.map((f) => `${f.file}:${f.line}: ${f.problem}`);

// --- What the configuration file's schema knows, asked of the schema itself ---------------------

const ISSUER = { issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks' };
const DOMAIN = { domainName: 'auth.example.com', certificateArn: 'arn' };
const ZONE = { hostedZoneId: 'Z1', zoneName: 'example.com' };
const file = (extra: Record<string, unknown>) => ({ ...extra, trustedIssuers: [ISSUER] });
const inside = (name: string) => (key: string) => file({ [name]: { [key]: undefined } });

/**
 * Every object a configuration file may hold, with the members it needs to parse, and the key to
 * probe set to `undefined` (a required member keeps its value): the strict schema refuses a key it
 * does not know whatever its value, and accepts `undefined` for an optional key it knows.
 */
const CONTAINERS: readonly ((key: string) => unknown)[] = [
  (key) => file({ [key]: undefined }),
  (key) => ({ trustedIssuers: [{ [key]: undefined, ...ISSUER }] }),
  (key) => file({ signingKeys: [{ [key]: undefined, id: 'key-1' }] }),
  (key) => file({ customDomain: { [key]: undefined, ...DOMAIN } }),
  (key) => file({ customDomain: { ...DOMAIN, hostedZone: { [key]: undefined, ...ZONE } } }),
  (key) => file({ alarms: { thresholds: { [key]: undefined } } }),
  ...[
    'throttle',
    'tokenThrottle',
    'removalPolicies',
    'sampleResource',
    'alarms',
    'tokenFunction',
    'edgeProtection',
  ].map(inside),
];

const parses = (json: unknown) => {
  try {
    parseEnvironmentFile(json);
    return true;
  } catch {
    return false;
  }
};
const schemaKnows = (key: string) => CONTAINERS.some((build) => parses(build(key)));

/**
 * Props of the construct that a file cannot hold (it takes a construct of the app; the file names
 * it by ARN or name instead): the docs name them when they speak of the construct.
 */
const CONSTRUCT_ONLY = ['existingClientsTable', 'certificate'];

const known: KnownKey = (name) =>
  name.split('.').every((part) => CONSTRUCT_ONLY.includes(part) || schemaKnows(part));

/** The schema's keys: the words of its source and the alarm thresholds, as far as it accepts them. */
const SCHEMA_KEYS = [
  ...new Set([
    ...(readFileSync(join(REPO_ROOT, 'lib/environment-config.ts'), 'utf8').match(/\b[a-z]\w*\b/g) ??
      []),
    ...Object.keys(DEFAULT_ALARM_THRESHOLDS),
  ]),
].filter(schemaKnows);

/** Every member name of a JSON value, comments ("//") left out. */
function memberNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(memberNames);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [...(k === '//' ? [] : [k]), ...memberNames(v)]);
}

test('the schema is asked for real: it knows every key the shipped files use, and no other word', () => {
  const shipped = ['config/playground.json', 'config/example-production.json'].flatMap((p) =>
    memberNames(JSON.parse(readFileSync(join(REPO_ROOT, p), 'utf8'))),
  );
  expect(shipped.filter((k) => !SCHEMA_KEYS.includes(k))).toEqual([]);
  for (const key of [
    'maxAccessTokenLifetime',
    'hostedZone',
    'rateLimitPerIp',
    'kmsRsaQuotaPercent',
  ])
    expect([key, SCHEMA_KEYS.includes(key)]).toEqual([key, true]);
  for (const word of ['maxAccessTokenTtl', 'accessTokenTtl', 'logRetentionDays', 'import'])
    expect([word, schemaKnows(word)]).toEqual([word, false]);
  // The construct-only props are the construct's and not the file's.
  const props = readFileSync(join(REPO_ROOT, 'lib/server-props.ts'), 'utf8');
  for (const name of CONSTRUCT_ONLY) {
    expect([name, schemaKnows(name)]).toEqual([name, false]);
    expect(props).toContain(`readonly ${name}?:`);
  }
});

// --- The docs as they are -------------------------------------------------------------------------

test('every configuration key the docs name is one the configuration file takes', () => {
  expect(show(unknownConfigKeys(docs, known, SCHEMA_KEYS))).toEqual([]);
});

test('no document reads as a work log', () => {
  expect(show(workLogLines(docs))).toEqual([]);
});

test("the playground's troubleshooting table quotes descriptions the server sends", () => {
  const playground = docs.find((f) => f.path === 'docs/playground.md')!;
  const sources = files.filter((f) => f.path.startsWith('lambda/') && f.path.endsWith('.ts'));
  const checked = unsentDescriptions(playground, sources);
  expect(show(checked)).toEqual([]);
  // The table itself is read against the real code: the row that said DPoP is unsupported is caught.
  const stale = playground.text.replace(
    '`assertion is bound to a key (cnf.jkt)`',
    '`assertion is bound to a key (cnf)`',
  );
  expect(stale).not.toBe(playground.text);
  expect(show(unsentDescriptions({ ...playground, text: stale }, sources))).toEqual([
    expect.stringMatching(/no description with "assertion is bound to a key \(cnf\)"$/),
  ]);
});

// --- The checks can fail ----------------------------------------------------------------------------

describe('the checks can fail', () => {
  const doc = (...lines: string[]): SourceFile => ({ path: 'docs/x.md', text: lines.join('\n') });

  test('a renamed key in prose is reported with the key it became; identifiers are not keys', () => {
    const text = doc(
      'the longest lifetime, i.e. `maxAccessTokenTtl` (default one day)',
      'renamed: `accessTokenTtl` → `accessTokenLifetime`',
      'set `maxAccessTokenLifetime` and `customDomain.hostedZone`; `existingClientsTable` in code',
      '`compactVerify`, `requestId`, `verifyIdJag` and `sourceIp` are not configuration',
      'a typo: `tokenThrotle`',
    );
    expect(show(unknownConfigKeys([text], known, SCHEMA_KEYS))).toEqual([
      'docs/x.md:1: `maxAccessTokenTtl` is not a configuration key (did you mean `maxAccessTokenLifetime`?)',
      'docs/x.md:5: `tokenThrotle` is not a configuration key (did you mean `tokenThrottle`?)',
    ]);
  });

  test('in a json block every camelCase member must be a key', () => {
    const text = doc(
      '```json',
      '"signingKeys": [{ "id": "key-2", "active": true }],',
      '"logRetentionDays": 30, "fooBar": 1',
      '```',
      '```sh',
      'echo \'{"notAKey": 1}\'',
      '```',
    );
    expect(show(unknownConfigKeys([text], known, SCHEMA_KEYS))).toEqual([
      'docs/x.md:3: "logRetentionDays" is not a configuration key (did you mean "logRetention"?)',
      'docs/x.md:3: "fooBar" is not a configuration key',
    ]);
  });

  test('the near-miss rule is the loader’s: same words, another ending, or a small typo', () => {
    expect(nearestKey('maxAccessTokenTtl', SCHEMA_KEYS)).toBe('maxAccessTokenLifetime');
    expect(nearestKey('clockSkw', SCHEMA_KEYS)).toBe('clockSkew');
    expect(nearestKey('clockSkew', SCHEMA_KEYS)).toBeUndefined();
    expect(nearestKey('discoverAndRequestJwtAuthGrant', SCHEMA_KEYS)).toBeUndefined();
  });

  test('work-log phrases are reported, line by line', () => {
    const text = doc(
      'Measured on the same machine as the issue\u2019s figures and the issue 21 ones.',
      '| before: dynalite | 333 |',
      'an experiment, not kept; measured again later',
      'short of the 1.5 target; for the quiet re-run to say',
      'It had gone back to jose once; blocked by npm here; see commit fc160c1',
      'A refusal names the issuer; the server may issue a token; Before: note the output.',
    );
    expect(show(workLogLines([text])).map((l) => l.split(':').slice(0, 2).join(':'))).toEqual([
      'docs/x.md:1',
      'docs/x.md:2',
      'docs/x.md:3',
      'docs/x.md:3',
      'docs/x.md:4',
      'docs/x.md:4',
      'docs/x.md:5',
      'docs/x.md:5',
      'docs/x.md:5',
    ]);
  });

  test('a description the server does not send is reported, fragment by fragment', () => {
    const table = doc(
      '| `error` | `error_description` begins | cause | fix |',
      '| --- | --- | --- | --- |',
      '| `invalid_grant` | `assertion is bound to a key (cnf)` | DPoP | none |',
      '| `invalid_client` | `client_secret is required` / `no such text anywhere` | x | y |',
      '| `invalid_grant` | `assertion aud "…" is not this server\'s issuer` | x | y |',
    );
    const sources = [
      {
        path: 'lambda/x.ts',
        text: "'client_secret is required'; 'assertion is bound to a key (cnf.jkt): …'; `assertion aud ${a} is not this server's issuer`",
      },
    ];
    expect(show(unsentDescriptions(table, sources))).toEqual([
      'docs/x.md:3: the server sends no description with "assertion is bound to a key (cnf)"',
      'docs/x.md:4: the server sends no description with "no such text anywhere"',
    ]);
  });
});
