/**
 * Whether an access token is bound, and to which key (DPOP-CNF-JKT, DPOP-BIND, DPOP-REQUIRED): a
 * function of the verified proof (if any), the ID-JAG's `cnf`, the client and the granted
 * resources. The proof itself was checked before (DPOP-PROOF); its jti is claimed after, last
 * before the ID-JAG's own, so a replayed proof cannot spend the assertion.
 */
import { quote } from './quote.js';
import type { ClientRecord } from '../ports.js';
import { InvalidGrant } from './errors.js';
import type { VerifiedDpopProof } from './dpop.js';

export interface BindingInput {
  readonly proof: VerifiedDpopProof | undefined;
  /** The ID-JAG's binding, already limited to `jkt` (DPOP-CNF-OTHER). */
  readonly cnf: { readonly jkt: string } | undefined;
  readonly client: Pick<ClientRecord, 'clientId' | 'dpopBoundRequired'>;
  /** The granted resources: the token's audience. */
  readonly audience: readonly string[];
  /** Resources whose tokens must be bound (configuration). */
  readonly requiredResources: readonly string[];
}

/** The thumbprint the access token is bound to, or undefined for a bearer token. */
export function bindingKey(input: BindingInput): string | undefined {
  const { proof, cnf, client } = input;
  if (cnf) {
    // DPOP-CNF-JKT: the IdP bound the grant to a key; only its holder may redeem it.
    if (!proof) {
      throw new InvalidGrant({
        reason: 'dpop_proof_missing',
        description:
          'assertion is bound to a key (cnf.jkt): the request needs a DPoP proof signed with it',
      });
    }
    if (proof.jkt !== cnf.jkt) {
      throw new InvalidGrant({
        reason: 'dpop_key_mismatch',
        description: 'the DPoP proof is signed with another key than the one the assertion names',
      });
    }
    return cnf.jkt;
  }
  // DPOP-BIND: a valid proof without cnf binds the token to the proof's key.
  if (proof) return proof.jkt;
  // DPOP-REQUIRED: neither cnf nor a proof, where bound tokens are required.
  if (client.dpopBoundRequired) {
    throw new InvalidGrant({
      reason: 'dpop_required_by_client',
      description: `client ${quote(client.clientId)} must present a DPoP proof: its tokens are bound`,
    });
  }
  const resource = input.audience.find((r) => input.requiredResources.includes(r));
  if (resource !== undefined) {
    throw new InvalidGrant({
      reason: 'dpop_required_by_resource',
      description: `resource ${quote(resource)} accepts only DPoP-bound tokens: present a DPoP proof`,
    });
  }
  return undefined;
}
