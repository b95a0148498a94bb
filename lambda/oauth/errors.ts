/**
 * OAuth errors as classes, one per `error` code (RFC 6749 §5.2, RFC 8707 §2, RFC 6750 §3.1), each
 * carrying its HTTP status. The HTTP layer maps them to a response in one place (lambda/http).
 *
 * Every refusal also carries a stable `reason`: a snake_case code from the closed set below that
 * logs, metrics and tests branch on (as jose's and oauth4webapi's `code`s are). Each reason belongs
 * to exactly one `error`, so the OAuth error follows from the reason, and a constructor only accepts
 * the reasons of its own class. Adding a refusal is one line in REASONS. RESP-ERRORS: the wire
 * format (`error`, `error_description`, status, headers) does not carry the reason.
 *
 * `description` is sent to the client: it must never hold a secret, an assertion or a token.
 */

/** Every reason code, with the OAuth `error` it is answered with. Grouped by rule id. */
export const REASONS = {
  // REQ-SIZE
  body_too_large: 'invalid_request',
  // REQ-FORM
  content_type_unsupported: 'invalid_request',
  body_not_utf8: 'invalid_request',
  body_malformed: 'invalid_request',
  // REQ-DUPLICATE
  parameter_repeated: 'invalid_request',
  // REQ-GRANT-TYPE
  grant_type_missing: 'invalid_request',
  grant_type_unsupported: 'unsupported_grant_type',
  // REQ-ASSERTION
  assertion_missing: 'invalid_request',
  // AUTH-ONE-METHOD
  auth_methods_multiple: 'invalid_request',
  // AUTH-REQUIRED
  client_auth_missing: 'invalid_client',
  client_secret_missing: 'invalid_client',
  // AUTH-BASIC
  auth_scheme_unsupported: 'invalid_client',
  basic_credentials_malformed: 'invalid_client',
  // AUTH-FAILURE: the client is told the same for each of these; only logs and metrics tell them apart
  client_id_malformed: 'invalid_client',
  client_unknown: 'invalid_client',
  client_disabled: 'invalid_client',
  secret_not_found: 'invalid_client',
  secret_mismatch: 'invalid_client',
  // AUTH-METHOD
  auth_method_mismatch: 'invalid_client',
  // AUTH-PRIVATE-KEY-JWT: the first eight are told precisely; the rest are AUTH-FAILURE's answer
  client_assertion_type_unsupported: 'invalid_client',
  client_assertion_malformed: 'invalid_client',
  client_assertion_typ_invalid: 'invalid_client',
  client_assertion_algorithm: 'invalid_client',
  client_assertion_issuer: 'invalid_client',
  client_assertion_audience: 'invalid_client',
  client_assertion_claims: 'invalid_client',
  client_assertion_lifetime: 'invalid_client',
  client_assertion_expired: 'invalid_client',
  client_assertion_not_yet_valid: 'invalid_client',
  client_assertion_signature: 'invalid_client',
  client_assertion_key_unknown: 'invalid_client',
  client_assertion_replayed: 'invalid_client',
  client_keys_unavailable: 'invalid_client',
  // CIMD-POLICY
  client_metadata_not_allowed: 'invalid_client',
  // CIMD-FETCH
  client_metadata_address_not_public: 'invalid_client',
  client_metadata_redirect: 'invalid_client',
  client_metadata_timeout: 'invalid_client',
  client_metadata_unreachable: 'invalid_client',
  client_metadata_too_large: 'invalid_client',
  client_metadata_not_json: 'invalid_client',
  // CIMD-DOCUMENT
  client_metadata_client_id_mismatch: 'invalid_client',
  client_metadata_invalid: 'invalid_client',
  // JAG-FORMAT
  jws_malformed: 'invalid_grant',
  header_malformed: 'invalid_grant',
  payload_malformed: 'invalid_grant',
  typ_invalid: 'invalid_grant',
  kid_invalid: 'invalid_grant',
  // JAG-ISSUER
  issuer_missing: 'invalid_grant',
  issuer_is_self: 'invalid_grant',
  issuer_untrusted: 'invalid_grant',
  // JAG-ALGORITHM
  algorithm_not_allowed: 'invalid_grant',
  // JAG-SIGNATURE
  signature_invalid: 'invalid_grant',
  key_not_found: 'invalid_grant',
  key_ambiguous: 'invalid_grant',
  // JAG-CLAIMS
  claim_missing: 'invalid_grant',
  claim_invalid: 'invalid_grant',
  claim_too_large: 'invalid_grant',
  // JAG-AUDIENCE
  audience_invalid: 'invalid_grant',
  audience_mismatch: 'invalid_grant',
  // JAG-TIMES
  assertion_expired: 'invalid_grant',
  assertion_not_yet_valid: 'invalid_grant',
  iat_in_future: 'invalid_grant',
  lifetime_invalid: 'invalid_grant',
  lifetime_too_long: 'invalid_grant',
  // JAG-TENANT
  tenant_mismatch: 'invalid_grant',
  // JAG-CLIENT-ID
  client_id_mismatch: 'invalid_grant',
  // JAG-REPLAY
  jti_replayed: 'invalid_grant',
  // JAG-CLIENT-ISSUER
  client_issuer_not_allowed: 'invalid_grant',
  // DPOP-CNF-JKT
  dpop_proof_missing: 'invalid_grant',
  dpop_key_mismatch: 'invalid_grant',
  // DPOP-GRANT
  dpop_grant_unbound: 'invalid_grant',
  // DPOP-CNF-OTHER
  cnf_unsupported: 'invalid_grant',
  cnf_invalid: 'invalid_grant',
  // DPOP-REQUIRED
  dpop_required_by_client: 'invalid_grant',
  dpop_required_by_resource: 'invalid_grant',
  // DPOP-INVALID (the checks of DPOP-PROOF)
  dpop_header_repeated: 'invalid_dpop_proof',
  dpop_proof_malformed: 'invalid_dpop_proof',
  dpop_typ_invalid: 'invalid_dpop_proof',
  dpop_alg_not_allowed: 'invalid_dpop_proof',
  dpop_jwk_invalid: 'invalid_dpop_proof',
  dpop_signature_invalid: 'invalid_dpop_proof',
  dpop_claim_invalid: 'invalid_dpop_proof',
  dpop_htm_mismatch: 'invalid_dpop_proof',
  dpop_htu_mismatch: 'invalid_dpop_proof',
  dpop_iat_invalid: 'invalid_dpop_proof',
  dpop_iat_not_numeric: 'invalid_dpop_proof',
  dpop_ath_mismatch: 'invalid_dpop_proof',
  dpop_jti_replayed: 'invalid_dpop_proof',
  // DPOP-NONCE
  dpop_nonce_required: 'use_dpop_nonce',
  dpop_nonce_invalid: 'use_dpop_nonce',
  // GRANT-RESOURCE
  resource_invalid: 'invalid_target',
  resource_not_registered: 'invalid_target',
  resource_not_in_assertion: 'invalid_target',
  resource_required: 'invalid_target',
  resource_none_registered: 'invalid_target',
  // GRANT-SCOPE
  scope_invalid: 'invalid_scope',
  scope_not_granted: 'invalid_scope',
  // JAG-JWKS-FETCH
  jwks_unavailable: 'temporarily_unavailable',
  // A port did not answer in time, or answered with something malformed
  client_registry_unavailable: 'temporarily_unavailable',
  secret_store_unavailable: 'temporarily_unavailable',
  replay_guard_unavailable: 'temporarily_unavailable',
  signer_unavailable: 'temporarily_unavailable',
  signing_keys_unavailable: 'temporarily_unavailable',
  // RESP-ERRORS: our fault, answered with a fixed description
  internal_error: 'server_error',
} as const satisfies Record<string, OAuthErrorCode>;

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'temporarily_unavailable'
  | 'server_error'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce';

export type ReasonCode = keyof typeof REASONS;

/** The reasons answered with `error` E: what a class's constructor accepts. */
export type ReasonFor<E extends OAuthErrorCode> = {
  [R in ReasonCode]: (typeof REASONS)[R] extends E ? R : never;
}[ReasonCode];

export const REASON_CODES = Object.keys(REASONS) as ReasonCode[];

/** What a log line, a metric and a test see of a refusal. */
export interface Refusal {
  readonly error: OAuthErrorCode;
  readonly reason: ReasonCode;
}

export interface OAuthErrorOptions<E extends OAuthErrorCode> {
  readonly reason: ReasonFor<E>;
  /** Sent to the client as `error_description`. */
  readonly description: string;
  /** For the log only, never the response: what the client is not told. */
  readonly logDetail?: string;
  /** The failure underneath (a port's error), for the log only. */
  readonly cause?: unknown;
}

export abstract class OAuthError<E extends OAuthErrorCode = OAuthErrorCode>
  extends Error
  implements Refusal
{
  abstract readonly error: E;
  abstract readonly status: number;
  readonly reason: ReasonFor<E>;
  readonly description: string;
  readonly logDetail: string | undefined;

  constructor(options: OAuthErrorOptions<E>) {
    super(options.description, { cause: options.cause });
    this.reason = options.reason;
    this.description = options.description;
    this.logDetail = options.logDetail;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * The base of the class for one OAuth `error`, with its HTTP status (RFC 6749 §5.2, RFC 6750 §3.1,
 * RFC 8707 §2, RFC 9449 §5 and §8): each class below is then one line, and a new one is too.
 */
function errorClass<E extends OAuthErrorCode>(error: E, status: number) {
  return class extends OAuthError<E> {
    readonly error = error;
    readonly status = status;
  };
}

export class InvalidRequest extends errorClass('invalid_request', 400) {}

/** AUTH-FAILURE: what the client is told however its authentication failed (no enumeration). */
export const AUTHENTICATION_FAILED = 'client authentication failed';

export class InvalidClient extends errorClass('invalid_client', 401) {
  /** AUTH-FAILURE: when the client tried HTTP Basic, the 401 carries a Basic challenge. */
  readonly usedBasic: boolean;

  constructor(options: OAuthErrorOptions<'invalid_client'> & { readonly usedBasic?: boolean }) {
    super(options);
    this.usedBasic = options.usedBasic ?? false;
  }
}

export class InvalidGrant extends errorClass('invalid_grant', 400) {}
export class UnsupportedGrantType extends errorClass('unsupported_grant_type', 400) {}
export class InvalidScope extends errorClass('invalid_scope', 400) {}
export class InvalidTarget extends errorClass('invalid_target', 400) {}

/** DPOP-INVALID: the DPoP header is not a valid proof for this request (RFC 9449 §5, §7.1). */
export class InvalidDpopProof extends errorClass('invalid_dpop_proof', 400) {}

/**
 * DPOP-NONCE: the proof lacks the server's current nonce. The answer carries a fresh one in the
 * `DPoP-Nonce` header (RFC 9449 §8), so the client can sign a new proof with it and retry.
 */
export class UseDpopNonce extends errorClass('use_dpop_nonce', 400) {
  readonly nonce: string;

  constructor(options: OAuthErrorOptions<'use_dpop_nonce'> & { readonly nonce: string }) {
    super(options);
    this.nonce = options.nonce;
  }
}

/** A dependency (an issuer's JWKS, a database, the signer) could not answer: retry later. */
export class TemporarilyUnavailable extends errorClass('temporarily_unavailable', 503) {}

/** Our fault: the description is fixed, and what went wrong goes to the log only. */
export class ServerError extends errorClass('server_error', 500) {}

/** RESP-ERRORS: a failure that is our fault gets this fixed answer: no stack, no detail. */
export function internalError(): ServerError {
  return new ServerError({
    reason: 'internal_error',
    description: 'the server failed to process the request',
  });
}
