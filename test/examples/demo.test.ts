/** `npm run demo`: every step of the flow runs and behaves, on loopback only. */
import { runDemo } from '../../examples/demo/flow.js';

test('the demo walks the flow and every step passes', async () => {
  const lines: string[] = [];
  const ok = await runDemo((l) => lines.push(l));
  const out = lines.join('\n');
  expect(ok).toBe(true);
  for (const step of [
    'The IdP issues an ID-JAG (decoded)',
    'The client redeems it at the token endpoint',
    'The access token (decoded)',
    'The client calls the protected resource with it',
    'Refusal: the same ID-JAG redeemed again',
    'Refusal: the token used on a route that needs scope write',
    'Proof of possession: an ID-JAG bound to the client\u2019s DPoP key (cnf.jkt)',
  ]) {
    expect(out).toContain(step);
  }
  expect(out).not.toContain('\u2718');
  expect(out).toMatch(/client_secret=.{4}\*{12}/);
  // Every address the demo used is on loopback.
  for (const url of out.match(/https?:\/\/[^\s"/]+/g) ?? [])
    expect(url).toMatch(/^http:\/\/(localhost|127\.0\.0\.1):\d+$/);
}, 30_000);
