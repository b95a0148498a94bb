/**
 * Validating an ID-JAG (JAG-FORMAT to JAG-CLIENT-ISSUER; draft §4.4.1, RFC 7523 §3), in the
 * contract's order: nothing read from the token before its signature verifies is trusted beyond
 * choosing the key set. The stages run in a chain, each returning what the next needs; the checks
 * after them are independent of each other. Every refusal is InvalidGrant with a reason code and a
 * description that names what failed; an issuer whose keys cannot be fetched is
 * TemporarilyUnavailable (JAG-JWKS-FETCH). Single use (JAG-REPLAY) is claimed by the caller, last.
 */
import { quote } from './quote.js';
import { isUtf8 } from 'node:buffer';
import { errors as joseErrors, type JWSHeaderParameters } from 'jose';
import type { TrustedIssuer } from '../config.js';
import type { Clock, ClientRecord, IssuerKeys } from '../ports.js';
import { InvalidGrant, OAuthError, TemporarilyUnavailable, type ReasonFor } from './errors.js';
import { SignatureRejected, verifyCompactSignature } from './jws-verify.js';

const ID_JAG_TYPES: readonly string[] = ['oauth-id-jag+jwt', 'application/oauth-id-jag+jwt'];

export interface IdJagClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly client_id: string;
  readonly jti: string;
  readonly exp: number;
  readonly iat: number;
  readonly nbf?: number;
  readonly scope?: string;
  /** The `resource` claim, always as a list. */
  readonly resource?: readonly string[];
  readonly auth_time?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
  /** DPOP-CNF-JKT: the key the IdP bound this grant to (RFC 7638 thumbprint). */
  readonly cnf?: { readonly jkt: string };
}

export interface VerifiedAssertion {
  readonly trustedIssuer: TrustedIssuer;
  readonly claims: IdJagClaims;
}

export interface AssertionContext {
  /** This server's issuer identifier: the only accepted audience. */
  readonly issuer: string;
  readonly trustedIssuers: ReadonlyMap<string, TrustedIssuer>;
  readonly clockSkew: number;
  readonly issuerKeys: IssuerKeys;
  readonly clock: Clock;
}

/** What the client checks need to know of the client. */
export type AssertionClient = Pick<ClientRecord, 'clientId' | 'issuers'>;

/** Every check, in order, with what it establishes (for a person reading a check report). */
const CHECKS = {
  format: 'a compact JWS with header typ oauth-id-jag+jwt (JAG-FORMAT)',
  issuer: 'iss is a trusted issuer, and not this server (JAG-ISSUER)',
  client_issuer: 'the client may redeem assertions from this issuer (JAG-CLIENT-ISSUER)',
  algorithm: "alg is in the issuer's asymmetric allow-list (JAG-ALGORITHM)",
  signature: "the signature verifies with the issuer's JWKS (JAG-SIGNATURE)",
  claims: 'iss, sub, aud, client_id, jti, exp and iat are present, of the right types (JAG-CLAIMS)',
  audience: "aud is this server's issuer, exactly (JAG-AUDIENCE)",
  times: 'exp, nbf and iat are within the clock skew; the lifetime within the maximum (JAG-TIMES)',
  tenant: 'tenant is the one configured for a multi-tenant issuer (JAG-TENANT)',
  client_id: 'client_id is the authenticated client (JAG-CLIENT-ID)',
} as const;

export type CheckId = keyof typeof CHECKS;

/**
 * How the checks are run. The check list itself is `validate`, written once; verifyIdJag runs it
 * stopping at the first failure, checkIdJag runs it recording each check's outcome.
 */
interface Runner {
  /** A stage: later checks need what it returns, so its failure ends the run. */
  stage<T>(id: CheckId, run: () => T | Promise<T>): Promise<T>;
  /** A check that no later one depends on. */
  check(id: CheckId, run: () => void): Promise<void>;
  /** An independent check against the client. */
  checkClient(id: CheckId, run: (client: AssertionClient) => void): Promise<void>;
}

async function validate(
  assertion: string,
  ctx: AssertionContext,
  run: Runner,
): Promise<VerifiedAssertion> {
  const { header, payload } = await run.stage('format', () => parseJws(assertion));
  const trustedIssuer = await run.stage('issuer', () => trustIssuer(payload.iss, ctx));
  // Before anything names the issuer's algorithms or keys, or fetches its JWKS: a client that may
  // not use this issuer learns nothing about it, and cannot make us fetch its keys.
  await run.checkClient('client_issuer', (client) => checkClientIssuer(trustedIssuer, client));
  await run.stage('algorithm', () => checkAlgorithm(header, trustedIssuer));
  await run.stage('signature', () => verifySignature(assertion, trustedIssuer, ctx.issuerKeys));
  const claims = await run.stage('claims', () => readClaims(payload, trustedIssuer.issuer));
  await run.check('audience', () => checkAudience(payload.aud, ctx.issuer));
  await run.check('times', () => checkTimes(claims, trustedIssuer, ctx));
  await run.check('tenant', () => checkTenant(payload.tenant, trustedIssuer));
  await run.checkClient('client_id', (client) => checkClientId(claims, client));
  // The audience check passed: aud is our issuer, exactly.
  return { trustedIssuer, claims: { ...claims, aud: ctx.issuer } };
}

export function verifyIdJag(
  assertion: string,
  client: AssertionClient,
  ctx: AssertionContext,
): Promise<VerifiedAssertion> {
  return validate(assertion, ctx, {
    stage: async (_id, run) => run(),
    check: async (_id, run) => run(),
    checkClient: async (_id, run) => run(client),
  });
}

interface CheckSummary {
  readonly id: CheckId;
  readonly title: string;
}

export type CheckOutcome =
  | (CheckSummary & { readonly status: 'pass' })
  | (CheckSummary & {
      readonly status: 'fail';
      readonly reason: ReasonFor<'invalid_grant'>;
      readonly description: string;
    })
  | (CheckSummary & {
      readonly status: 'fail';
      /** The issuer's keys are out of reach: the endpoint answers 503, not a refusal. */
      readonly error: 'temporarily_unavailable';
      readonly reason: ReasonFor<'temporarily_unavailable'>;
      readonly description: string;
    })
  | (CheckSummary & { readonly status: 'skipped'; readonly note: string });

/** A stage failed in a check report: the checks after it are skipped. */
class Blocked extends Error {
  constructor(readonly by: CheckId) {
    super(`needs "${by}" to pass`);
  }
}

class Reporter implements Runner {
  readonly outcomes = new Map<CheckId, CheckOutcome>();

  constructor(private readonly client: AssertionClient | undefined) {}

  async stage<T>(id: CheckId, run: () => T | Promise<T>): Promise<T> {
    try {
      const value = await run();
      this.outcomes.set(id, { id, title: CHECKS[id], status: 'pass' });
      return value;
    } catch (err) {
      this.fail(id, err);
      throw new Blocked(id);
    }
  }

  async check(id: CheckId, run: () => void): Promise<void> {
    try {
      run();
      this.outcomes.set(id, { id, title: CHECKS[id], status: 'pass' });
    } catch (err) {
      this.fail(id, err);
    }
  }

  async checkClient(id: CheckId, run: (client: AssertionClient) => void): Promise<void> {
    const { client } = this;
    if (client) return this.check(id, () => run(client));
    this.outcomes.set(id, {
      id,
      title: CHECKS[id],
      status: 'skipped',
      note: 'no client given (--client-id)',
    });
  }

  /** Records a refusal or an unreachable JWKS; anything else (a bug) ends the report. */
  private fail(id: CheckId, err: unknown): void {
    if (err instanceof TemporarilyUnavailable) {
      // fetch's own "fetch failed" says why only in its cause.
      const why = [err.cause, (err.cause as { cause?: unknown } | undefined)?.cause]
        .map((e) => (e as { message?: unknown } | undefined)?.message)
        .filter((m) => typeof m === 'string')
        .join(': ');
      this.outcomes.set(id, {
        id,
        title: CHECKS[id],
        status: 'fail',
        error: 'temporarily_unavailable',
        reason: err.reason,
        description: `${err.description}${why ? ` (${why})` : ''}`,
      });
      return;
    }
    if (!(err instanceof InvalidGrant)) throw err;
    this.outcomes.set(id, {
      id,
      title: CHECKS[id],
      status: 'fail',
      reason: err.reason,
      // The report is the operator's: it may say what the client is not told.
      description: err.logDetail ?? err.description,
    });
  }
}

/**
 * Every check, without redeeming: a report of what passed and what failed, with its reason code
 * and why. Checks that need an earlier stage to pass are skipped after it fails. `client`
 * undefined skips the client checks.
 */
export async function checkIdJag(
  assertion: string,
  client: AssertionClient | undefined,
  ctx: AssertionContext,
): Promise<CheckOutcome[]> {
  const reporter = new Reporter(client);
  let blocked: Blocked | undefined;
  try {
    await validate(assertion, ctx, reporter);
  } catch (err) {
    if (!(err instanceof Blocked)) throw err;
    blocked = err;
  }
  return (Object.keys(CHECKS) as CheckId[]).map(
    (id) =>
      reporter.outcomes.get(id) ?? {
        id,
        title: CHECKS[id],
        status: 'skipped',
        note: blocked?.message ?? 'not reached',
      },
  );
}

const invalid = (reason: ReasonFor<'invalid_grant'>, description: string) =>
  new InvalidGrant({ reason, description });

/** JAG-FORMAT: the unverified header and payload, for the stages that follow. */
function parseJws(assertion: string): {
  header: JWSHeaderParameters;
  payload: Record<string, unknown>;
} {
  const [encodedHeader, encodedPayload, ...rest] = assertion.split('.');
  if (
    !encodedHeader ||
    !encodedPayload ||
    rest.length !== 1 ||
    !/^[A-Za-z0-9_-]*$/.test(`${encodedHeader}${encodedPayload}${rest.join('')}`)
  ) {
    throw invalid('jws_malformed', 'assertion is not a compact JWS (three base64url parts)');
  }
  const header = decodeSegment(encodedHeader, 'header');
  if (typeof header.typ !== 'string' || !ID_JAG_TYPES.includes(header.typ.toLowerCase())) {
    throw invalid(
      'typ_invalid',
      `assertion typ must be oauth-id-jag+jwt, got ${header.typ === undefined ? 'none' : quote(header.typ)}`,
    );
  }
  // jose ignores a kid that is not a string when it picks a key; a malformed header is refused.
  if (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid === '')) {
    throw invalid('kid_invalid', 'assertion kid must be a non-empty string');
  }
  return {
    header: header as JWSHeaderParameters,
    payload: decodeSegment(encodedPayload, 'payload'),
  };
}

function decodeSegment(segment: string, what: 'header' | 'payload'): Record<string, unknown> {
  const reason = what === 'header' ? 'header_malformed' : 'payload_malformed';
  let value: unknown;
  try {
    const bytes = Buffer.from(segment, 'base64url');
    if (!isUtf8(bytes)) throw new Error('not UTF-8');
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid(reason, `assertion ${what} is not base64url-encoded JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(reason, `assertion ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** JAG-ISSUER: `iss`, read unverified only to pick the key set. */
function trustIssuer(iss: unknown, ctx: AssertionContext): TrustedIssuer {
  if (typeof iss !== 'string')
    throw invalid('issuer_missing', 'assertion is missing the iss claim');
  if (iss === ctx.issuer) {
    throw invalid(
      'issuer_is_self',
      'assertion was issued by this authorization server, which accepts only other issuers',
    );
  }
  const trusted = ctx.trustedIssuers.get(iss);
  if (!trusted) throw invalid('issuer_untrusted', `issuer ${quote(iss)} is not trusted`);
  return trusted;
}

/** JAG-ALGORITHM */
function checkAlgorithm(header: JWSHeaderParameters, trusted: TrustedIssuer): void {
  const alg: unknown = header.alg;
  if (typeof alg !== 'string' || !trusted.algorithms.includes(alg)) {
    throw invalid(
      'algorithm_not_allowed',
      `assertion alg ${quote(alg ?? null)} is not accepted from ${trusted.issuer} (accepted: ${trusted.algorithms.join(', ')})`,
    );
  }
}

/** JAG-SIGNATURE, with the issuer's keys (JAG-JWKS-FETCH). */
async function verifySignature(
  assertion: string,
  trusted: TrustedIssuer,
  issuerKeys: IssuerKeys,
): Promise<void> {
  try {
    await verifyCompactSignature(
      assertion,
      issuerKeys.resolverFor(trusted.issuer),
      trusted.algorithms,
    );
  } catch (err) {
    if (err instanceof OAuthError) throw err;
    if (err instanceof SignatureRejected) {
      // A signature that does not verify says so as it is; every other refusal is why not.
      throw invalid(
        'signature_invalid',
        err.code === 'signature_mismatch'
          ? err.message
          : `assertion cannot be verified: ${err.message}`,
      );
    }
    if (err instanceof joseErrors.JWKSNoMatchingKey) {
      throw invalid(
        'key_not_found',
        `no key in the JWKS of ${trusted.issuer} matches the assertion's kid`,
      );
    }
    if (err instanceof joseErrors.JWKSMultipleMatchingKeys) {
      throw invalid(
        'key_ambiguous',
        `several keys in the JWKS of ${trusted.issuer} match: the assertion needs a kid`,
      );
    }
    if (err instanceof joseErrors.JOSEError || err instanceof TypeError) {
      // A malformed JWS, a critical header we do not understand, a key that does not fit the alg.
      throw invalid('signature_invalid', `assertion cannot be verified: ${err.message}`);
    }
    throw err;
  }
}

const REQUIRED = ['sub', 'aud', 'client_id', 'jti', 'exp', 'iat'] as const;

/** JAG-CLAIMS: the verified payload as typed claims; `aud` is the audience check's. */
function readClaims(p: Record<string, unknown>, iss: string): Omit<IdJagClaims, 'aud'> {
  for (const name of REQUIRED) {
    if (p[name] === undefined)
      throw invalid('claim_missing', `assertion is missing the ${name} claim`);
  }
  const str = (name: string): string => {
    const v = p[name];
    if (typeof v !== 'string' || v === '')
      throw invalid('claim_invalid', `assertion ${name} claim must be a non-empty string`);
    return v;
  };
  const time = (name: string): number => {
    const v = p[name];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw invalid('claim_invalid', `assertion ${name} claim must be a NumericDate`);
    return v;
  };
  const optional = <T>(name: string, read: (name: string) => T): T | undefined =>
    p[name] === undefined ? undefined : read(name);
  const stringList = (name: string): string[] => {
    const v = p[name];
    if (typeof v === 'string' && v !== '') return [v];
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x !== ''))
      return v as string[];
    throw invalid(
      'claim_invalid',
      `assertion ${name} claim must be a string or an array of strings`,
    );
  };
  const amr = optional('amr', (name) => {
    const v = p[name];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      throw invalid('claim_invalid', 'assertion amr claim must be an array of strings');
    }
    if (v.length > 16 || v.some((x: string) => x.length > 64)) {
      throw invalid(
        'claim_too_large',
        'assertion amr claim is larger than 16 values of 64 characters',
      );
    }
    for (const value of v as string[]) printable(value, name);
    return v as string[];
  });
  const scope = optional('scope', (name) => {
    const v = p[name];
    if (typeof v !== 'string')
      throw invalid('claim_invalid', 'assertion scope claim must be a space-separated string');
    return v;
  });
  return {
    iss,
    sub: boundedText(str('sub'), 'sub'),
    client_id: str('client_id'),
    jti: str('jti'),
    exp: time('exp'),
    iat: time('iat'),
    nbf: optional('nbf', time),
    scope,
    resource: optional('resource', stringList),
    auth_time: optional('auth_time', time),
    acr: optional('acr', (name) => boundedText(str(name), name)),
    amr,
    cnf: p.cnf === undefined ? undefined : readCnf(p.cnf),
  };
}

/** An RFC 7638 SHA-256 thumbprint: 32 bytes, base64url. */
const JKT = /^[A-Za-z0-9_-]{43}$/;

/**
 * DPOP-CNF-OTHER: a binding this server can check is `{"jkt": <thumbprint>}` and nothing else. Any
 * other confirmation method (x5t#S256, jwk, ...) would turn a bound grant into a bearer token if it
 * were ignored, so it is refused; DPOP-CNF-JKT then needs a proof by that key.
 */
function readCnf(cnf: unknown): { jkt: string } {
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) {
    throw invalid('cnf_invalid', 'assertion cnf claim must be a JSON object');
  }
  const members = Object.keys(cnf);
  const other = members.find((m) => m !== 'jkt');
  if (other !== undefined || members.length === 0) {
    throw invalid(
      'cnf_unsupported',
      `assertion is bound by ${other === undefined ? 'an empty cnf' : `cnf ${quote(other)}`}, which this server cannot check: only cnf.jkt (DPoP) is supported`,
    );
  }
  const { jkt } = cnf as { jkt: unknown };
  if (typeof jkt !== 'string' || !JKT.test(jkt)) {
    throw invalid('cnf_invalid', 'assertion cnf.jkt must be a base64url SHA-256 JWK thumbprint');
  }
  return { jkt };
}

/**
 * Claims copied into the access token are bounded (OpenID Connect caps `sub` at 255 characters):
 * the token must stay well inside what any signer accepts (KMS signs at most 4 KB of raw input).
 * At most 255 characters, and printable.
 */
function boundedText(value: string, name: string): string {
  if (value.length > 255)
    throw invalid('claim_too_large', `assertion ${name} claim is longer than 255 characters`);
  return printable(value, name);
}

/**
 * GRANT-CLAIM-VALUES: values copied into the access token carry no control characters (C0, DEL,
 * C1): a newline or NUL in `sub` would reach every resource server's logs and string handling.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
function printable(value: string, name: string): string {
  if (CONTROL.test(value))
    throw invalid('claim_invalid', `assertion ${name} claim contains a control character`);
  return value;
}

/** JAG-AUDIENCE: `aud` is our issuer, as a string or an array of exactly that one element. */
function checkAudience(aud: unknown, issuer: string): void {
  let value: unknown = aud;
  if (Array.isArray(aud)) {
    if (aud.length !== 1) {
      throw invalid(
        'audience_invalid',
        `assertion aud must name exactly one audience, got ${aud.length}`,
      );
    }
    value = aud[0];
  }
  if (typeof value !== 'string')
    throw invalid('audience_invalid', 'assertion aud claim must be a string');
  if (value !== issuer) {
    const hint =
      value.replace(/\/$/, '') === issuer.replace(/\/$/, '')
        ? ' (they differ by a trailing slash)'
        : '';
    throw invalid(
      'audience_mismatch',
      `assertion aud ${quote(value)} is not this server's issuer ${quote(issuer)}${hint}`,
    );
  }
}

/** JAG-TIMES */
function checkTimes(
  c: Pick<IdJagClaims, 'exp' | 'iat' | 'nbf'>,
  trusted: TrustedIssuer,
  ctx: AssertionContext,
): void {
  const now = ctx.clock.now();
  const skew = ctx.clockSkew;
  const at = (t: number) => new Date(t * 1000).toISOString();
  if (c.exp <= now - skew) {
    throw invalid(
      'assertion_expired',
      `assertion expired at ${at(c.exp)} (server time ${at(now)})`,
    );
  }
  if (c.nbf !== undefined && c.nbf > now + skew) {
    throw invalid(
      'assertion_not_yet_valid',
      `assertion is not valid before ${at(c.nbf)} (server time ${at(now)})`,
    );
  }
  if (c.iat > now + skew) {
    throw invalid(
      'iat_in_future',
      `assertion iat ${at(c.iat)} is in the future (server time ${at(now)})`,
    );
  }
  if (c.exp <= c.iat) throw invalid('lifetime_invalid', 'assertion exp is not after its iat');
  const lifetime = c.exp - c.iat;
  if (lifetime > trusted.maxAssertionLifetime + skew) {
    throw invalid(
      'lifetime_too_long',
      `assertion lifetime ${lifetime} s exceeds the ${trusted.maxAssertionLifetime} s that ${trusted.issuer} may grant`,
    );
  }
}

/**
 * JAG-TENANT: a multi-tenant IdP's `sub` is unique within its tenant only, so an issuer that
 * serves several tenants is trusted for one, named in its configuration; an ID-JAG of another
 * tenant (or none) would be another tenant's user under the same `iss`.
 */
function checkTenant(tenant: unknown, trusted: TrustedIssuer): void {
  if (trusted.tenant === undefined || tenant === trusted.tenant) return;
  throw invalid(
    'tenant_mismatch',
    tenant === undefined
      ? `assertion has no tenant claim: ${trusted.issuer} is trusted for one tenant only`
      : `assertion tenant ${quote(typeof tenant === 'string' ? tenant : JSON.stringify(tenant))} is not the tenant ${trusted.issuer} is trusted for`,
  );
}

/** JAG-CLIENT-ID */
function checkClientId(claims: Pick<IdJagClaims, 'client_id'>, client: AssertionClient): void {
  if (claims.client_id !== client.clientId) {
    throw invalid(
      'client_id_mismatch',
      `assertion client_id ${quote(claims.client_id)} does not match the authenticated client ${quote(client.clientId)}`,
    );
  }
}

/** JAG-CLIENT-ISSUER */
function checkClientIssuer(trusted: TrustedIssuer, client: AssertionClient): void {
  if (client.issuers && !client.issuers.includes(trusted.issuer)) {
    // Told exactly what an untrusted issuer is told: whom else we trust is not this client's business.
    throw new InvalidGrant({
      reason: 'client_issuer_not_allowed',
      description: `issuer ${quote(trusted.issuer)} is not trusted`,
      logDetail: `client ${quote(client.clientId)} may not redeem assertions from ${trusted.issuer}`,
    });
  }
}
