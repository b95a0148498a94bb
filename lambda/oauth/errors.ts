/**
 * OAuth errors as classes, one per `error` code (RFC 6749 §5.2, RFC 8707 §2, RFC 6750 §3.1), each
 * carrying its HTTP status. The HTTP layer maps them to a response in one place (lambda/http).
 * `description` is sent to the client: it must never hold a secret, an assertion or a token.
 */
export abstract class OAuthError extends Error {
  abstract readonly error: string;
  abstract readonly status: number;
  /** For the log only, never the response: what the client is not told (e.g. which check failed). */
  logDetail?: string;
  constructor(readonly description: string) {
    super(description);
  }
  override get name(): string {
    return this.constructor.name;
  }
}

export class InvalidRequest extends OAuthError {
  readonly error = 'invalid_request';
  readonly status = 400;
}

export class InvalidClient extends OAuthError {
  readonly error = 'invalid_client';
  readonly status = 401;
  /** RFC 6749 §5.2: when the client tried HTTP Basic, the 401 carries a Basic challenge. */
  constructor(
    description: string,
    readonly usedBasic = false,
    logDetail?: string,
  ) {
    super(description);
    this.logDetail = logDetail;
  }
}

export class InvalidGrant extends OAuthError {
  readonly error = 'invalid_grant';
  readonly status = 400;
}

export class UnsupportedGrantType extends OAuthError {
  readonly error = 'unsupported_grant_type';
  readonly status = 400;
}

export class InvalidScope extends OAuthError {
  readonly error = 'invalid_scope';
  readonly status = 400;
}

export class InvalidTarget extends OAuthError {
  readonly error = 'invalid_target';
  readonly status = 400;
}

/** A dependency (an issuer's JWKS, a database, the signer) could not answer: retry later. */
export class TemporarilyUnavailable extends OAuthError {
  readonly error = 'temporarily_unavailable';
  readonly status = 503;
  constructor(
    description: string,
    override readonly cause?: unknown,
  ) {
    super(description);
  }
}
