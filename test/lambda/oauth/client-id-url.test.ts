/**
 * CIMD-ID: which client ids are Client ID Metadata Document URLs. A URL that a server could serve
 * from outside the path it names (an encoded slash, a `..;/`, a backslash) is not one.
 */
import { isClientIdUrl } from '../../../lambda/oauth/syntax.js';

test.each([
  'https://agents.example.com/clients/agent.json',
  'https://agents.example.com:8443/a',
  'http://localhost:4000/agents/a.json',
])('%s is a client id URL', (url) => {
  expect(isClientIdUrl(url)).toBe(true);
});

test.each([
  ['an encoded slash after ..', 'https://host.example/trusted/..%2Fattacker/client.json'],
  ['an encoded dot segment', 'https://host.example/trusted/%2e%2e/attacker.json'],
  ['a double-encoded dot', 'https://host.example/trusted/%252e%252e/a.json'],
  ['a Tomcat path parameter', 'https://host.example/trusted/..;/attacker/client.json'],
  ['an encoded backslash', 'https://host.example/trusted/..%5cattacker.json'],
  ['a literal dot segment (normalised away)', 'https://host.example/trusted/../attacker.json'],
  ['a query', 'https://host.example/trusted/a.json?n=1'],
  ['a fragment', 'https://host.example/trusted/a.json#x'],
  ['no path', 'https://host.example/'],
  ['a user', 'https://user@host.example/a.json'],
  ['plain http elsewhere than loopback', 'http://host.example/a.json'],
  ['an upper-case host (not as written back)', 'https://HOST.example/a.json'],
  ['a default port written out', 'https://host.example:443/a.json'],
])('%s is not', (_name, url) => {
  expect(isClientIdUrl(url)).toBe(false);
});
