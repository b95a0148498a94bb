/** (1) The physical limit of one token: one RS256 verification and one RS256 signature, on one core. */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { rate } from './stats.js';

export async function cryptoBound(
  ms: number,
): Promise<{ pairsPerSecond: number; signPerSecond: number; verifyPerSecond: number }> {
  const idp = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ours = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const input = Buffer.from('x'.repeat(600)); // about the size of an ID-JAG's signing input
  const signature = sign('sha256', input, idp.privateKey);
  const verifyOnce = () => {
    if (!verify('sha256', input, idp.publicKey, signature)) throw new Error('verify failed');
  };
  const signOnce = () => sign('sha256', input, ours.privateKey);
  return {
    verifyPerSecond: await rate(verifyOnce, ms / 3),
    signPerSecond: await rate(signOnce, ms / 3),
    pairsPerSecond: await rate(() => {
      verifyOnce();
      signOnce();
    }, ms / 3),
  };
}
