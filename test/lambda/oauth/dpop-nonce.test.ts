/** DPOP-NONCE: stateless server nonces (RFC 9449 §8), with an injected clock. */
import { DpopNonces, parseDpopNonceKey } from '../../../lambda/oauth/dpop-nonce.js';

const key = Buffer.alloc(32, 1);

test('a nonce is accepted in its slot and the next, not before or after', () => {
  let t = 1_000_000 * 300; // the start of a slot
  const nonces = new DpopNonces(key, () => t);
  const nonce = nonces.current();
  expect(nonces.isValid(nonce)).toBe(true);
  t += 299;
  expect(nonces.isValid(nonce)).toBe(true);
  t += 1; // the next slot: still fine, so a nonce handed out at a boundary works
  expect(nonces.current()).not.toBe(nonce);
  expect(nonces.isValid(nonce)).toBe(true);
  t += 300; // two slots on
  expect(nonces.isValid(nonce)).toBe(false);
  t -= 900; // a slot before it was made: the clock went back, or the nonce is from the future
  expect(nonces.isValid(nonce)).toBe(false);
});

test('another key, a forged MAC, garbage: refused', () => {
  const now = () => 42_000;
  const ours = new DpopNonces(key, now);
  const theirs = new DpopNonces(Buffer.alloc(32, 2), now);
  expect(ours.isValid(theirs.current())).toBe(false);
  const [slot] = ours.current().split('.');
  for (const bad of [
    `${slot}.x`,
    `${slot}.`,
    '',
    '.',
    'x.y',
    `${slot}`,
    'a'.repeat(1000),
    `1e3.${'A'.repeat(43)}`,
  ])
    expect(ours.isValid(bad)).toBe(false);
});

test('the key is at least 32 bytes of base64url', () => {
  expect(() => new DpopNonces(Buffer.alloc(16), () => 0)).toThrow(/32 bytes/);
  expect(parseDpopNonceKey(Buffer.alloc(32).toString('base64url'))).toHaveLength(32);
  expect(parseDpopNonceKey(Buffer.alloc(31).toString('base64url'))).toBeUndefined();
  expect(parseDpopNonceKey('has spaces and +/=')).toBeUndefined();
});
