/**
 * What an accepted assertion is worth: the audience, scope and lifetime of the access token
 * (GRANT-RESOURCE, GRANT-SCOPE, RESP-LIFETIME).
 */
import { quote } from './quote.js';
import { SCOPE_TOKEN } from './syntax.js';
import type { DefaultScope } from '../config.js';
import type { ClientRecord } from '../ports.js';
import { InvalidScope, InvalidTarget } from './errors.js';
import type { IdJagClaims } from './id-jag.js';

export interface Grant {
  /** The granted resource(s): the access token's `aud`, exact strings. */
  readonly audience: readonly string[];
  readonly scopes: readonly string[];
  /** Seconds. */
  readonly lifetime: number;
}

export interface GrantRequest {
  readonly scope: string | undefined;
  readonly resources: readonly string[];
}

export interface LifetimePolicy {
  readonly accessTokenTtl: number;
  readonly maxAccessTokenTtl: number;
}

/**
 * `defaultScope` is the trusted issuer's GRANT-SCOPE-DEFAULT: what an ID-JAG without a `scope`
 * claim is worth.
 */
export function decideGrant(
  client: ClientRecord,
  claims: IdJagClaims,
  request: GrantRequest,
  policy: LifetimePolicy,
  defaultScope: DefaultScope,
): Grant {
  return {
    audience: decideAudience(client, claims.resource, request.resources),
    scopes: decideScopes(client, claims.scope, request.scope, defaultScope),
    lifetime: Math.min(client.tokenLifetime ?? policy.accessTokenTtl, policy.maxAccessTokenTtl),
  };
}

/**
 * RFC 8707 §2: an absolute URI with no fragment. Only characters a URI may hold (RFC 3986 §2):
 * WHATWG URL parsing would quietly percent-encode a space, so "https://api.example.com/a b" would
 * pass as a URI that nobody's request can name.
 */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?[\]@!$&'()*+,;=%]+$/;
export function isResourceIndicator(value: string): boolean {
  if (value.includes('#') || !URI_CHARACTERS.test(value)) return false;
  try {
    new URL(value);
    return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value);
  } catch {
    return false;
  }
}

function decideAudience(
  client: ClientRecord,
  assertionResources: readonly string[] | undefined,
  requested: readonly string[],
): string[] {
  const registered = (r: string) => client.resources.includes(r);
  for (const [where, list] of [
    ['assertion', assertionResources ?? []],
    ['request', requested],
  ] as const) {
    for (const r of list) {
      if (!isResourceIndicator(r)) {
        throw new InvalidTarget({
          reason: 'resource_invalid',
          description: `${where} resource ${quote(r)} is not an absolute URI without a fragment`,
        });
      }
      if (!registered(r)) {
        // As JAG-AUDIENCE does for the issuer: the commonest mismatch is invisible at a glance.
        const slash = client.resources.find((c) => c.replace(/\/$/, '') === r.replace(/\/$/, ''));
        throw new InvalidTarget({
          reason: 'resource_not_registered',
          description: `${where} resource ${quote(r)} is not registered for client ${quote(client.clientId)}${slash === undefined ? '' : ` (${quote(slash)} is: they differ by a trailing slash)`}`,
        });
      }
    }
  }
  if (requested.length > 0) {
    if (assertionResources) {
      const outside = requested.find((r) => !assertionResources.includes(r));
      if (outside !== undefined) {
        throw new InvalidTarget({
          reason: 'resource_not_in_assertion',
          description: `requested resource ${quote(outside)} is not among the assertion's resources`,
        });
      }
    }
    return [...requested];
  }
  if (assertionResources) return [...new Set(assertionResources)];
  const [only, ...others] = client.resources;
  if (only === undefined) {
    throw new InvalidTarget({
      reason: 'resource_none_registered',
      description: `client ${quote(client.clientId)} has no registered resource`,
    });
  }
  if (others.length === 0) return [only];
  throw new InvalidTarget({
    reason: 'resource_required',
    description:
      'resource is required: the client has several registered resources and the assertion names none',
  });
}

function scopeList(value: string, where: string): string[] {
  const tokens = value.split(' ').filter(Boolean);
  for (const t of tokens) {
    if (!SCOPE_TOKEN.test(t)) {
      throw new InvalidScope({
        reason: 'scope_invalid',
        description: `${where} scope ${quote(t)} is not a valid scope token`,
      });
    }
  }
  return [...new Set(tokens)];
}

/**
 * Granted = assertion scope ∩ client's allowed scopes (∩ requested scope). Requested scopes outside
 * the assertion are dropped, not refused (RFC 6749 §3.3 lets the server narrow); an empty result
 * when anything was asked for is invalid_scope.
 *
 * GRANT-SCOPE-DEFAULT: an assertion without a `scope` claim bounds nothing by scope. RFC 6749 §3.3
 * lets a server use a pre-defined default where none is given: with `registered` it is the
 * client's registered scopes, which the operator already chose as the most this client may hold,
 * so the IdP's silence grants no more than the registration does; with `none` the assertion is
 * worth no scope.
 */
function decideScopes(
  client: ClientRecord,
  assertionScope: string | undefined,
  requestedScope: string | undefined,
  defaultScope: DefaultScope,
): string[] {
  const fromAssertion =
    assertionScope !== undefined
      ? scopeList(assertionScope, 'assertion')
      : defaultScope === 'registered'
        ? [...client.scopes]
        : [];
  const requested =
    requestedScope === undefined ? undefined : scopeList(requestedScope, 'requested');
  let granted = fromAssertion.filter((s) => client.scopes.includes(s));
  if (requested) granted = granted.filter((s) => requested.includes(s));
  const asked = fromAssertion.length > 0 || (requested?.length ?? 0) > 0;
  if (asked && granted.length === 0) {
    const wanted = (requested ?? fromAssertion).join(' ');
    // A comma is legal in a scope token, but "read,write" is nearly always two scopes misspelt.
    const comma = wanted.includes(',') ? ' (scopes are separated by spaces, not commas)' : '';
    throw new InvalidScope({
      reason: 'scope_not_granted',
      description: `none of the scopes ${quote(wanted)} may be granted: client ${quote(client.clientId)} is allowed ${quote(client.scopes.join(' '))} and the assertion carries ${quote(fromAssertion.join(' '))}${comma}`,
    });
  }
  return granted;
}
