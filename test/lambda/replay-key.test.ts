/** The replay record key both ReplayGuards store spent jtis under (JAG-REPLAY). */
import { replayKey } from '../../lambda/replay-key.js';

test('the key format is fixed: records written before a release are read with the same key', () => {
  // The SHA-256 of JSON ["https://idp.example","jti-1"], base64url: what the DynamoDB table and
  // the local replay journals already hold. A change here forgets every spent jti.
  expect(replayKey('https://idp.example', 'jti-1')).toBe(
    '_o2qRXAw_knYjQn13SBdpAAocfFXT42G0uyeNgS1QD8',
  );
});

test('the pair is unambiguous: moving characters between issuer and jti changes the key', () => {
  expect(replayKey('https://a.example', 'b')).not.toBe(replayKey('https://a.exampleb', ''));
  expect(replayKey('a","b', 'c')).not.toBe(replayKey('a', 'b","c'));
  expect(replayKey('x', 'y'.repeat(10_000))).toHaveLength(43);
});
