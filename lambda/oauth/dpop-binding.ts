/**
 * Whether an access token is bound, and to which key (DPOP-CNF-JKT, DPOP-BIND, DPOP-REQUIRED): a
 * function of the verified proof (if any), the ID-JAG's `cnf`, the client and the granted
 * resources. The proof itself was checked before (DPOP-PROOF); its jti is claimed after, last
 * before the ID-JAG's own, so a replayed proof cannot spend the assertion. DPOP-GRANT adds what
 * the jwt-dpop grant requires on top.
 */
import { quote } from './quote.js';
import type { ClientRecord } from '../ports.js';
import { InvalidGrant } from './errors.js';
import { JWT_BEARER_GRANT, JWT_DPOP_GRANT } from './grant-types.js';
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

/** Why a request must carry a DPoP proof, whatever the proof turns out to be. */
export type ProofRequirement =
  /** DPOP-CNF-JKT: the IdP bound the grant to the key with this thumbprint. */
  | { readonly by: 'cnf'; readonly jkt: string }
  /** DPOP-REQUIRED: the client takes bound tokens only. */
  | { readonly by: 'client' }
  /** DPOP-REQUIRED: this resource, one of the audience, accepts bound tokens only. */
  | { readonly by: 'resource'; readonly resource: string };

/**
 * Whether redeeming needs a DPoP proof, and why (the first reason, in the order the token endpoint
 * refuses them): what bindingKey refuses a request without a proof for, and what
 * `admin assertion check` tells the operator a request will need.
 */
export function proofRequirement(
  input: Pick<BindingInput, 'cnf' | 'audience' | 'requiredResources'> & {
    readonly client: Pick<ClientRecord, 'dpopBoundRequired'> | undefined;
  },
): ProofRequirement | undefined {
  if (input.cnf) return { by: 'cnf', jkt: input.cnf.jkt };
  if (input.client?.dpopBoundRequired) return { by: 'client' };
  const resource = input.audience.find((r) => input.requiredResources.includes(r));
  return resource === undefined ? undefined : { by: 'resource', resource };
}

/** The thumbprint the access token is bound to, or undefined for a bearer token. */
export function bindingKey(input: BindingInput): string | undefined {
  const { proof, cnf, client } = input;
  if (proof) {
    // DPOP-CNF-JKT: the IdP bound the grant to a key; only its holder may redeem it.
    if (cnf && proof.jkt !== cnf.jkt) {
      throw new InvalidGrant({
        reason: 'dpop_key_mismatch',
        description: 'the DPoP proof is signed with another key than the one the assertion names',
      });
    }
    // DPOP-CNF-JKT: cnf.jkt, which the proof's key is; DPOP-BIND: without cnf, the proof's key.
    return proof.jkt;
  }
  const required = proofRequirement(input);
  switch (required?.by) {
    case undefined:
      return undefined;
    case 'cnf':
      throw new InvalidGrant({
        reason: 'dpop_proof_missing',
        description:
          'assertion is bound to a key (cnf.jkt): the request needs a DPoP proof signed with it',
      });
    case 'client':
      throw new InvalidGrant({
        reason: 'dpop_required_by_client',
        description: `client ${quote(client.clientId)} must present a DPoP proof: its tokens are bound`,
      });
    case 'resource':
      throw new InvalidGrant({
        reason: 'dpop_required_by_resource',
        description: `resource ${quote(required.resource)} accepts only DPoP-bound tokens: present a DPoP proof`,
      });
  }
}

/**
 * DPOP-GRANT: the jwt-dpop grant is for an assertion bound to a key (`cnf.jkt`), redeemed with a
 * proof by that key; bindingKey then checks that the two are the same key.
 */
export function requireDpopGrantBinding(
  proof: VerifiedDpopProof | undefined,
  cnf: { readonly jkt: string } | undefined,
): void {
  if (!proof)
    throw new InvalidGrant({
      reason: 'dpop_proof_missing',
      description: `the ${JWT_DPOP_GRANT} grant needs a DPoP proof`,
    });
  if (!cnf)
    throw new InvalidGrant({
      reason: 'dpop_grant_unbound',
      description: `the ${JWT_DPOP_GRANT} grant is for an assertion bound to a key (cnf.jkt): use ${JWT_BEARER_GRANT} for this one`,
    });
}
