/**
 * `admin assertion check`: what the token endpoint would answer to an ID-JAG, without redeeming it.
 * The verdict comes from the endpoint's own steps, in its order (lambda/oauth/token-service.ts):
 * the client is registered and enabled (AUTH-FAILURE), verifyIdJag (JAG-*), decideGrant
 * (GRANT-RESOURCE, GRANT-SCOPE). The itemised report (checkIdJag) explains it; it never decides
 * it, so the check cannot pass an ID-JAG the endpoint refuses. Only the secret (which the check
 * does not have) and the jti's single use (which only redeeming can test) are left out.
 */
import type { ServiceConfig, TrustedIssuer } from '../../lambda/config.js';
import { OAuthError } from '../../lambda/oauth/errors.js';
import { decideGrant, type Grant, type GrantRequest } from '../../lambda/oauth/grant.js';
import {
  checkIdJag,
  verifyIdJag,
  type AssertionContext,
  type CheckOutcome,
  type IdJagClaims,
} from '../../lambda/oauth/id-jag.js';
import type { ClientRecord } from '../../lambda/ports.js';

/** A step of the report after the ID-JAG's own checks. */
export type StepOutcome =
  | { readonly id: StepId; readonly title: string; readonly status: 'pass'; readonly note?: string }
  | {
      readonly id: StepId;
      readonly title: string;
      readonly status: 'fail';
      /** The OAuth error the endpoint would answer. */
      readonly error: string;
      readonly reason: string;
      readonly description: string;
    }
  | {
      readonly id: StepId;
      readonly title: string;
      readonly status: 'skipped';
      readonly note: string;
    };

type StepId = 'client' | 'resource' | 'scope';

const STEPS: Record<StepId, string> = {
  client: 'the client is registered and enabled (AUTH-FAILURE)',
  resource: 'the resource is one the client may get tokens for (GRANT-RESOURCE)',
  scope: 'some requested scope may be granted to the client (GRANT-SCOPE)',
};

export interface AssertionReport {
  /** What the endpoint would do: true only if its own steps all pass. */
  readonly valid: boolean;
  readonly checks: readonly (CheckOutcome | StepOutcome)[];
  /** What the endpoint would grant, when it would. */
  readonly grant?: Grant;
  readonly claims?: IdJagClaims;
}

/** What the token endpoint would answer to this assertion from this client, step by step. */
export async function evaluateAssertion(
  assertion: string,
  client: { readonly clientId: string; readonly record: ClientRecord | undefined } | undefined,
  request: GrantRequest,
  config: ServiceConfig,
  ctx: AssertionContext,
): Promise<AssertionReport> {
  const record = client?.record;
  const jagChecks = await checkIdJag(
    assertion,
    client && { clientId: client.clientId, issuers: record?.issuers },
    ctx,
  );
  const steps: StepOutcome[] = [];
  const skip = (id: StepId, note: string) =>
    steps.push({ id, title: STEPS[id], status: 'skipped', note });
  const refused = (id: StepId, err: OAuthError) =>
    steps.push({
      id,
      title: STEPS[id],
      status: 'fail',
      error: err.error,
      reason: err.reason,
      // The report is the operator's: it may say what the client is not told.
      description: err.logDetail ?? err.description,
    });

  if (!client) {
    skip('client', 'no client given (--client-id)');
    skip('resource', 'no client given (--client-id)');
    skip('scope', 'no client given (--client-id)');
    return { valid: false, checks: [...jagChecks, ...steps] };
  }
  if (!record || !record.enabled) {
    steps.push({
      id: 'client',
      title: STEPS.client,
      status: 'fail',
      error: 'invalid_client',
      reason: record ? 'client_disabled' : 'client_unknown',
      description: record
        ? `client ${client.clientId} is disabled: clients enable --client-id ${client.clientId}`
        : `no such client ${client.clientId}: register it with clients add`,
    });
    skip('resource', 'needs a registered, enabled client');
    skip('scope', 'needs a registered, enabled client');
    return { valid: false, checks: [...jagChecks, ...steps] };
  }
  steps.push({ id: 'client', title: STEPS.client, status: 'pass' });

  // The endpoint's own steps, as it runs them.
  let claims: IdJagClaims;
  let trustedIssuer: TrustedIssuer;
  try {
    ({ claims, trustedIssuer } = await verifyIdJag(assertion, record, ctx));
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    skip('resource', 'needs the ID-JAG checks to pass');
    skip('scope', 'needs the ID-JAG checks to pass');
    return { valid: false, checks: [...jagChecks, ...steps] };
  }
  let grant: Grant;
  try {
    grant = decideGrant(record, claims, request, config, trustedIssuer.defaultScope);
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    // decideGrant settles the audience before the scopes: an invalid_scope means the resource passed.
    if (err.error === 'invalid_scope') {
      steps.push({ id: 'resource', title: STEPS.resource, status: 'pass' });
      refused('scope', err);
    } else {
      refused('resource', err);
      skip('scope', 'needs the resource to pass');
    }
    return { valid: false, checks: [...jagChecks, ...steps], claims };
  }
  steps.push(
    {
      id: 'resource',
      title: STEPS.resource,
      status: 'pass',
      note: `aud ${grant.audience.join(' ')}`,
    },
    { id: 'scope', title: STEPS.scope, status: 'pass', note: `scope "${grant.scopes.join(' ')}"` },
  );
  return { valid: true, checks: [...jagChecks, ...steps], grant, claims };
}
