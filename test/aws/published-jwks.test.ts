/** The published JWKS document: what the JWKS function accepts at start-up, and what it refuses by name. */
import { ConfigError } from '../../lambda/config.js';
import { parsePublishedJwks, serializeJwks } from '../../lambda/cdk-shared/published-jwks.js';

const key = { kty: 'RSA', n: 'n-_0', e: 'AQAB', kid: 'kid-1', alg: 'RS256', use: 'sig' } as const;

test('round trip: the serialized document parses to the same keys, members in a fixed order', () => {
  const reordered = {
    use: 'sig',
    alg: 'RS256',
    kid: 'kid-2',
    e: 'AQAB',
    n: 'm',
    kty: 'RSA',
  } as const;
  const text = serializeJwks([key, reordered]);
  expect(text).toBe(
    '{"keys":[{"kty":"RSA","n":"n-_0","e":"AQAB","kid":"kid-1","alg":"RS256","use":"sig"},' +
      '{"kty":"RSA","n":"m","e":"AQAB","kid":"kid-2","alg":"RS256","use":"sig"}]}',
  );
  expect(parsePublishedJwks(text)).toEqual({ keys: [key, { ...reordered }] });
});

test.each([
  ['missing', undefined, /is required/],
  ['blank', '  ', /is required/],
  ['not JSON', '{"keys":', /not valid JSON/],
  ['no keys', '{"keys":[]}', /not empty/],
  ['not a key set', '[]', /must be \{"keys"/],
  ['a key with a private member', JSON.stringify({ keys: [{ ...key, d: 'secret' }] }), /exactly/],
  ['an EC key', JSON.stringify({ keys: [{ ...key, kty: 'EC' }] }), /RS256 signing key/],
  ['another algorithm', JSON.stringify({ keys: [{ ...key, alg: 'PS256' }] }), /RS256/],
  ['an encryption key', JSON.stringify({ keys: [{ ...key, use: 'enc' }] }), /RS256 signing key/],
  ['a modulus that is not base64url', JSON.stringify({ keys: [{ ...key, n: 'a+b/' }] }), /"n"/],
  ['a repeated kid', JSON.stringify({ keys: [key, { ...key, n: 'other' }] }), /repeats kid/],
])('refused at start-up, naming PUBLISHED_JWKS: %s', (_, text, problem) => {
  const err = (() => {
    try {
      parsePublishedJwks(text);
    } catch (e) {
      return e;
    }
  })();
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).variable).toBe('PUBLISHED_JWKS');
  expect((err as Error).message).toMatch(problem);
});
