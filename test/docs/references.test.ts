/**
 * A clone explains itself: every rule id cited in code, tests and docs is defined in docs/spec.md,
 * and nothing cites or links to a file outside the repository (docs/architecture.md, "Where to add a
 * rule").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  REPO_ROOT,
  citedRuleIds,
  danglingRuleIds,
  definedRuleIds,
  githubSlug,
  readRepoFiles,
  unreachableReferences,
  type Finding,
} from './references.js';

const spec = readFileSync(join(REPO_ROOT, 'docs/spec.md'), 'utf8');
const files = readRepoFiles();
const show = (findings: readonly Finding[]) =>
  findings.map((f) => `${f.file}:${f.line}: ${f.problem}`);

test('the repository is read: code, tests, docs and the README', () => {
  const paths = new Set(files.map((f) => f.path));
  for (const p of ['README.md', 'docs/spec.md', 'lambda/oauth/id-jag.ts', 'eslint.config.js'])
    expect([p, paths.has(p)]).toEqual([p, true]);
  expect([...paths].some((p) => p.includes('node_modules'))).toBe(false);
});

/** The ids the code and tests were written against: never renamed, never dropped. */
const STABLE_IDS = `
  DISC-PATHS DISC-ISSUER DISC-FIELDS DISC-AUTHZ-ENDPOINT DISC-NO-ISSUERS DISC-CACHE
  JWKS-KEYS JWKS-KID JWKS-RSA
  REQ-FORM REQ-GRANT-TYPE REQ-ASSERTION REQ-DUPLICATE REQ-SIZE
  AUTH-REQUIRED AUTH-POST AUTH-BASIC AUTH-ONE-METHOD AUTH-FAILURE AUTH-SECRET
  JAG-FORMAT JAG-ISSUER JAG-ALGORITHM JAG-SIGNATURE JAG-JWKS-FETCH JAG-CLAIMS JAG-AUDIENCE
  JAG-TIMES JAG-CLIENT-ID JAG-REPLAY JAG-CLIENT-ISSUER
  GRANT-RESOURCE GRANT-SCOPE GRANT-SUBJECT GRANT-CLAIM-VALUES
  RESP-SUCCESS RESP-NO-REFRESH RESP-ACCESS-TOKEN RESP-LIFETIME RESP-ERRORS
  DPOP-PROOF DPOP-CNF-JKT DPOP-CNF-OTHER DPOP-BIND DPOP-REQUIRED DPOP-TOKEN DPOP-INVALID DPOP-NONCE
  CORS-ORIGINS
`
  .split(/\s+/)
  .filter(Boolean);

test('docs/spec.md defines every stable rule id, each once', () => {
  const defined = definedRuleIds(spec);
  expect(STABLE_IDS.filter((id) => defined.get(id) !== 1)).toEqual([]);
});

test('every rule id cited anywhere is defined in docs/spec.md', () => {
  expect(show(danglingRuleIds(spec, files))).toEqual([]);
});

test('no citation, link or path leads outside the repository or to a file that is not there', () => {
  // This file's own fixtures are broken on purpose.
  const checked = files.filter((f) => f.path !== 'test/docs/references.test.ts');
  expect(show(unreachableReferences(checked))).toEqual([]);
});

describe('the checks can fail', () => {
  test('removing a rule from docs/spec.md makes each citation of it dangle', () => {
    const without = spec
      .split('\n')
      .filter((line) => !line.startsWith('### JAG-AUDIENCE '))
      .join('\n');
    expect(without.length).toBeLessThan(spec.length);
    const dangling = danglingRuleIds(without, files);
    expect(dangling.length).toBeGreaterThan(0);
    expect(dangling.every((f) => f.problem === 'JAG-AUDIENCE is not defined in docs/spec.md')).toBe(
      true,
    );
    // Cited by the code or tests that enforce it, not only by the contract's own cross-references.
    expect(dangling.some((f) => /^(lambda|test\/lambda)\//.test(f.file))).toBe(true);
  });

  test('an id that no heading defines is reported where it is cited, one by one', () => {
    const unknown = ['JAG', 'NOT', 'A', 'RULE'].join('-');
    const file = {
      path: 'lambda/x.ts',
      text: `// fine: JAG-AUDIENCE\n// ${unknown} and ${unknown}`,
    };
    expect(show(danglingRuleIds(spec, [file]))).toEqual([
      `lambda/x.ts:2: ${unknown} is not defined in docs/spec.md`,
      `lambda/x.ts:2: ${unknown} is not defined in docs/spec.md`,
    ]);
  });

  test('an id defined twice is reported', () => {
    const twice = `${spec}\n### JAG-AUDIENCE — again\n`;
    expect(show(danglingRuleIds(twice, []))).toEqual([
      'docs/spec.md:0: JAG-AUDIENCE is defined 2 times',
    ]);
  });

  test('ids are told apart from look-alikes', () => {
    const text =
      'JAG-AUDIENCE, (REQ-SIZE). X-AUTH-TOKEN OAUTH-WG CORS_ORIGINS JWKS-fetch DPoP-Nonce';
    expect(citedRuleIds(text).map((c) => c.id)).toEqual(['JAG-AUDIENCE', 'REQ-SIZE']);
  });

  test('citations and links that leave the repository are reported, line by line', () => {
    // Assembled from pieces so that a search of the repository for them finds none here.
    const contract = ['SP', 'EC'].join('');
    const architecture = ['ARCHITEC', 'TURE.md'].join('');
    const outside = ['../sha', 'red/reference/x.md'].join('');
    const lines = [
      `// ${contract} \u00a75.5: aud`,
      `// see ${architecture}`,
      '// Single use (\u00a75.8) is claimed last',
      '// RFC 7523 \u00a73, \u00a73.1 (item 3), draft \u00a74.4.1 and RFC 6749\n// \u00a73.2: attributed',
      `[contract](${outside})`,
      '[out](../../../elsewhere.md)',
      '[missing](docs/nowhere.md)',
      '[no heading](docs/spec.md#no-such-heading)',
      '[fine](docs/spec.md#jag-audience--aud-is-this-servers-issuer-exactly) [up](#top) [dir](lambda)',
      '[fine](https://www.rfc-editor.org/rfc/rfc9068) `[code](../../x.md)` | `a.ts` (\u00a72)',
      '# Top',
    ];
    const problems = show(unreachableReferences([{ path: 'README.md', text: lines.join('\n') }]));
    expect(problems).toEqual([
      'README.md:1: cites the external contract by name: cite a rule id',
      'README.md:1: a section sign that does not say which document it cites',
      'README.md:2: cites a file that is not here: docs/architecture.md',
      `README.md:2: ${architecture} is not a file in the repository`,
      'README.md:3: a section sign that does not say which document it cites',
      'README.md:6: points at a folder outside the repository',
      `README.md:6: ${outside.split('/', 2).join('/')} leaves the repository`,
      `README.md:6: link ${outside} leaves the repository`,
      `README.md:6: ${outside} is not a file in the repository`,
      'README.md:7: ../../../elsewhere.md leaves the repository',
      'README.md:7: link ../../../elsewhere.md leaves the repository',
      'README.md:7: ../../../elsewhere.md is not a file in the repository',
      'README.md:8: link docs/nowhere.md names a file that does not exist',
      'README.md:8: docs/nowhere.md is not a file in the repository',
      'README.md:9: link docs/spec.md#no-such-heading names a heading that does not exist',
      'README.md:11: a section sign that does not say which document it cites',
      'README.md:11: ../../x.md leaves the repository',
      'README.md:11: ../../x.md is not a file in the repository',
    ]);
  });

  test('heading anchors follow GitHub', () => {
    expect(githubSlug("JAG-AUDIENCE — aud is this server's issuer, exactly")).toBe(
      'jag-audience--aud-is-this-servers-issuer-exactly',
    );
    expect(githubSlug('DPOP-INVALID — an invalid proof is invalid_dpop_proof')).toBe(
      'dpop-invalid--an-invalid-proof-is-invalid_dpop_proof',
    );
  });
});
