/**
 * The token endpoint as one function of its inputs and ports (docs/architecture.md, "one token
 * request"): parse → authenticate → check the DPoP proof → validate the ID-JAG → decide the grant
 * and the binding → claim the proof's jti → claim the assertion's jti ∥ sign → respond.
 */
import type { ServiceConfig, TrustedIssuer } from '../config.js';
import type {
  Clock,
  ClientKeys,
  ClientMetadataDocuments,
  ClientRecord,
  ClientRegistry,
  IssuerKeys,
  ReplayGuard,
  SecretStore,
  Signer,
} from '../ports.js';
import { accessTokenClaims, signAccessToken, type AccessTokenClaims } from './access-token.js';
import { authenticateWithClientAssertion } from './client-assertion.js';
import { authenticateClient, isClientSecretOrNone } from './client-auth.js';
import { singleDpopHeader, verifyDpopProof, type VerifiedDpopProof } from './dpop.js';
import { bindingKey, requireDpopGrantBinding } from './dpop-binding.js';
import { DpopNonces } from './dpop-nonce.js';
import {
  AUTHENTICATION_FAILED,
  InvalidClient,
  InvalidDpopProof,
  InvalidGrant,
  OAuthError,
  TemporarilyUnavailable,
  type ReasonFor,
} from './errors.js';
import { decideGrant } from './grant.js';
import { verifyIdJag, type IdJagClaims } from './id-jag.js';
import { endpointUrl, PATHS } from './metadata.js';
import { isClientIdUrl } from './syntax.js';
import { JWT_DPOP_GRANT } from './grant-types.js';
import {
  parseTokenRequest,
  type ClientCredentials,
  type RawTokenRequest,
} from './token-request.js';

export interface TokenServiceDeps {
  readonly config: ServiceConfig;
  readonly registry: ClientRegistry;
  readonly secrets: SecretStore;
  readonly signer: Signer;
  readonly replay: ReplayGuard;
  readonly issuerKeys: IssuerKeys;
  /** AUTH-PRIVATE-KEY-JWT: clients' keys at their `jwks_uri`; without it only inline keys work. */
  readonly clientKeys?: ClientKeys;
  /** CIMD: clients named by a metadata document URL; without it such ids are unknown clients. */
  readonly clientMetadata?: ClientMetadataDocuments;
  readonly clock: Clock;
  /**
   * How long a request's calls to the ports may take, together, before it is answered 503. Well
   * inside the Lambda timeout, so a hung dependency still gets a clean OAuth error, not a gateway 5xx.
   */
  readonly dependencyTimeoutMs?: number;
  /**
   * AUTH-FAILURE: an `invalid_client` answer is given no sooner than this many milliseconds after
   * the request arrived. Where secrets sit behind network I/O (Secrets Manager: a wrong secret for
   * a registered client makes a fresh read), the time to answer would otherwise tell a registered
   * client id from an unknown one. 0 where every lookup is in memory.
   */
  readonly authFailureFloorMs?: number;
  /** The clock and the wait behind authFailureFloorMs; tests replace them. */
  readonly timing?: { readonly nowMs: () => number; readonly sleep: (ms: number) => Promise<void> };
  /**
   * DPOP-NONCE: where the nonce key comes from when the configuration holds none (on AWS, a
   * secret every container reads; locally, a key of the process's own). Needed only when nonces
   * are required.
   */
  readonly dpopNonceKey?: () => Promise<Uint8Array>;
}

export interface TokenResponse {
  readonly access_token: string;
  /** DPOP-TOKEN: `DPoP` for a token bound to a key, `Bearer` otherwise. */
  readonly token_type: 'Bearer' | 'DPoP';
  readonly expires_in: number;
  readonly scope: string;
  /** RESP-SUCCESS: the granted resource; an array when several were granted (RFC 8707 §2). */
  readonly resource: string | readonly string[];
}

/** What a log line may say about a request: identifiers and outcomes, never secrets or tokens. */
export interface TokenAudit {
  clientId?: string;
  authMethod?: string;
  issuer?: string;
  scope?: string;
  audience?: string | readonly string[];
  /** The thumbprint of the key the token is bound to (DPOP-TOKEN): an identifier, not a secret. */
  jkt?: string;
}

export class TokenService {
  private readonly trustedIssuers: ReadonlyMap<string, TrustedIssuer>;
  private readonly timeoutMs: number;
  /** DPOP-PROOF: the `htu` every proof must name. */
  private readonly tokenEndpoint: string;
  private nonces: Promise<DpopNonces> | undefined;

  constructor(private readonly deps: TokenServiceDeps) {
    this.trustedIssuers = new Map(deps.config.trustedIssuers.map((t) => [t.issuer, t]));
    this.timeoutMs = deps.dependencyTimeoutMs ?? 3000;
    this.tokenEndpoint = endpointUrl(deps.config.issuer, PATHS.token);
    const { nonceRequired, nonceKey } = deps.config.dpop;
    if (nonceRequired && !nonceKey && !deps.dpopNonceKey)
      throw new Error('DPoP nonces are required but no nonce key was given');
  }

  /**
   * DPOP-NONCE: the nonce to send in `DPoP-Nonce` on any answer (RFC 9449 §8.2), or undefined when
   * nonces are off or the key cannot be read right now (the next proof then gets use_dpop_nonce).
   */
  async currentDpopNonce(): Promise<string | undefined> {
    if (!this.deps.config.dpop.nonceRequired) return undefined;
    const deadline = new Deadline(this.timeoutMs);
    try {
      return (await this.dpopNonces(deadline))?.current();
    } catch {
      return undefined;
    } finally {
      deadline.clear();
    }
  }

  private async dpopNonces(deadline: Deadline): Promise<DpopNonces | undefined> {
    const { config, clock, dpopNonceKey } = this.deps;
    if (!config.dpop.nonceRequired) return undefined;
    const { nonceKey } = config.dpop;
    this.nonces ??= (nonceKey ? Promise.resolve(nonceKey) : dpopNonceKey!()).then(
      (key) => new DpopNonces(key, () => clock.now()),
    );
    const loading = this.nonces;
    try {
      return await deadline.call('secret_store', () => loading);
    } catch (err) {
      // Read the key again on the next request rather than failing every one from now on.
      if (this.nonces === loading) this.nonces = undefined;
      throw err;
    }
  }

  /**
   * DPOP-PROOF: single use, through the same replay guard as assertions, under an issuer key of the
   * proof's own (`dpop:<jkt>`), kept until the proof would be stale anyway.
   */
  private async spendProof(proof: VerifiedDpopProof, deadline: Deadline): Promise<void> {
    const { replay } = this.deps;
    const first = await deadline.call(
      'replay_guard',
      () => replay.claim(`dpop:${proof.jkt}`, proof.jti, proof.replayUntil),
      (v) => typeof v === 'boolean',
    );
    if (!first) {
      throw new InvalidDpopProof({
        reason: 'dpop_jti_replayed',
        description: 'the DPoP proof has been used before: sign a new one for each request',
      });
    }
  }

  async token(raw: RawTokenRequest, audit: TokenAudit = {}): Promise<TokenResponse> {
    const deadline = new Deadline(this.timeoutMs);
    const { authFailureFloorMs: floor = 0, timing = REAL_TIME } = this.deps;
    const started = timing.nowMs();
    try {
      return await this.redeem(raw, audit, deadline);
    } catch (err) {
      if (err instanceof InvalidClient && floor > 0) {
        const left = floor - (timing.nowMs() - started);
        if (left > 0) await timing.sleep(left);
      }
      throw err;
    } finally {
      deadline.clear();
    }
  }

  /**
   * Who the client is (AUTH-*): by its secret, or by its signed assertion (AUTH-PRIVATE-KEY-JWT)
   * for a registered client or one a metadata document describes (CIMD-*).
   */
  private authenticate(credentials: ClientCredentials, deadline: Deadline): Promise<ClientRecord> {
    const { config, clock, registry, secrets, replay, clientKeys, clientMetadata } = this.deps;
    const registered = (id: string) =>
      deadline.call('client_registry', () => registry.get(id), isClientRecordOrNone);
    if (credentials.method !== 'private_key_jwt') {
      // AUTH-METHOD: a metadata document's client has no secret, and no registry holds its id.
      if (isClientIdUrl(credentials.clientId))
        return Promise.reject(
          new InvalidClient({
            reason: 'auth_method_mismatch',
            description: AUTHENTICATION_FAILED,
            usedBasic: credentials.method === 'client_secret_basic',
          }),
        );
      return authenticateClient(
        credentials,
        { get: registered },
        {
          getClientSecret: (ref, o) =>
            deadline.call(
              'secret_store',
              () => secrets.getClientSecret(ref, o),
              isClientSecretOrNone,
            ),
        },
        clock,
      );
    }
    return authenticateWithClientAssertion(
      credentials,
      {
        client: (id) =>
          isClientIdUrl(id)
            ? clientMetadata
              ? deadline.bound('client_registry', () => clientMetadata.resolve(id))
              : Promise.resolve(undefined)
            : registered(id),
        keysAt: (uri, algorithms) => {
          if (!clientKeys)
            return () =>
              Promise.reject(
                new InvalidClient({
                  reason: 'client_keys_unavailable',
                  description: AUTHENTICATION_FAILED,
                  logDetail: 'this server fetches no client jwks_uri',
                }),
              );
          const resolve = clientKeys.resolverFor(uri, algorithms);
          return (header, token) => deadline.bound('client_registry', () => resolve(header, token));
        },
        // AUTH-PRIVATE-KEY-JWT: single use, through the replay guard, under a key of the client's.
        spend: (id, jti, until) =>
          deadline.call(
            'replay_guard',
            () => replay.claim(`client:${id}`, jti, until),
            (v) => typeof v === 'boolean',
          ),
      },
      { issuer: config.issuer, now: clock.now(), clockSkew: config.clockSkew },
    );
  }

  /** DPOP-PROOF: the proof of this request, against this endpoint, with the current nonce. */
  private async checkProof(proofJws: string, deadline: Deadline): Promise<VerifiedDpopProof> {
    const { config, clock } = this.deps;
    return verifyDpopProof(proofJws, {
      method: 'POST',
      url: this.tokenEndpoint,
      now: clock.now(),
      clockSkew: config.clockSkew,
      nonces: await this.dpopNonces(deadline),
    });
  }

  /** JAG-*: the ID-JAG's checks for this client, its issuer's keys fetched within the budget. */
  private checkAssertion(assertion: string, client: ClientRecord, deadline: Deadline) {
    const { config, clock, issuerKeys } = this.deps;
    return verifyIdJag(assertion, client, {
      issuer: config.issuer,
      trustedIssuers: this.trustedIssuers,
      clockSkew: config.clockSkew,
      // JAG-JWKS-FETCH inside the request's budget: an IdP's slow JWKS is a 503 before anything
      // is spent, not a late claim that outlives the answer.
      issuerKeys: {
        resolverFor: (iss) => {
          const resolve = issuerKeys.resolverFor(iss);
          return (header, token) => deadline.bound('issuer_keys', () => resolve(header, token));
        },
      },
      clock,
    });
  }

  /**
   * The claim-and-sign race: the access token is signed while the proof's jti and then the
   * assertion's are claimed, since the signature is independent I/O (KMS) about as slow as both
   * writes together. The token is returned only if every claim won and the signature was made; a
   * signature made for a request that loses a replay race is dropped, and a claim this request
   * won for a token it cannot issue is given back, so the client's retry is not refused as a
   * replay. DPOP-PROOF: the proof is spent before the assertion, so a replayed proof cannot spend
   * it. JAG-REPLAY: only a plain true from the guard wins.
   */
  private async claimAndSign(
    accessClaims: AccessTokenClaims,
    claims: IdJagClaims,
    trustedIssuer: TrustedIssuer,
    proof: VerifiedDpopProof | undefined,
    deadline: Deadline,
  ): Promise<string> {
    const { config, replay, signer } = this.deps;
    const signed = deadline.call('signer', () => signAccessToken(accessClaims, signer));
    let claim: Promise<boolean> | undefined;
    const claimed = (proof ? this.spendProof(proof, deadline) : Promise.resolve()).then(() =>
      trustedIssuer.allowReuse
        ? true
        : deadline.call(
            'replay_guard',
            () => (claim = replay.claim(claims.iss, claims.jti, claims.exp + config.clockSkew)),
            (v) => typeof v === 'boolean',
          ),
    );
    const [claimResult, signResult] = await Promise.allSettled([claimed, signed]);
    if (claimResult.status === 'fulfilled' && !claimResult.value) {
      // JAG-REPLAY: the jti was redeemed before (or by a concurrent request that won the race).
      throw new InvalidGrant({
        reason: 'jti_replayed',
        description: 'assertion already used (its jti has been redeemed before)',
      });
    }
    if (claimResult.status === 'rejected' || signResult.status === 'rejected') {
      // A write that outlives the deadline may win yet: giveBack waits for its outcome.
      if (claim) await giveBack(claim, () => replay.release(claims.iss, claims.jti));
      throw claimResult.status === 'rejected'
        ? claimResult.reason
        : (signResult as PromiseRejectedResult).reason;
    }
    return signResult.value;
  }

  private async redeem(
    raw: RawTokenRequest,
    audit: TokenAudit,
    deadline: Deadline,
  ): Promise<TokenResponse> {
    const { config, clock } = this.deps;
    const request = parseTokenRequest(raw, {
      issuer: config.issuer,
      now: clock.now(),
      clockSkew: config.clockSkew,
    });
    const proofJws = singleDpopHeader(raw.dpop);
    audit.authMethod = request.credentials.method;

    const client = await this.authenticate(request.credentials, deadline).catch((err: unknown) => {
      // AUTH-SECRET: a presented id is logged only once the registry knows it. A client that put
      // its secret in the id field (or an id and secret swapped) must not have it written down.
      if (err instanceof InvalidClient && LOGGABLE_CLIENT_REFUSALS.has(err.reason))
        audit.clientId = request.credentials.clientId;
      throw err;
    });
    audit.clientId = client.clientId;
    // DPOP-PROOF, once the client is known: no unauthenticated caller makes us verify a signature.
    const proof = proofJws === undefined ? undefined : await this.checkProof(proofJws, deadline);
    const { trustedIssuer, claims } = await this.checkAssertion(
      request.assertion,
      client,
      deadline,
    );
    audit.issuer = claims.iss;
    if (request.grantType === JWT_DPOP_GRANT) requireDpopGrantBinding(proof, claims.cnf);
    const grant = decideGrant(client, claims, request, config, trustedIssuer.defaultScope);
    const jkt = bindingKey({
      proof,
      cnf: claims.cnf,
      client,
      audience: grant.audience,
      requiredResources: config.dpop.requiredResources,
    });
    const accessClaims = accessTokenClaims({
      issuer: config.issuer,
      subjectPrefix: trustedIssuer.subjectPrefix,
      assertion: claims,
      grant,
      now: clock.now(),
      clockSkew: config.clockSkew,
      jkt,
    });
    const accessToken = await this.claimAndSign(
      accessClaims,
      claims,
      trustedIssuer,
      proof,
      deadline,
    );

    audit.scope = accessClaims.scope;
    audit.audience = accessClaims.aud;
    if (jkt !== undefined) audit.jkt = jkt;
    return {
      access_token: accessToken,
      token_type: jkt === undefined ? 'Bearer' : 'DPoP',
      expires_in: grant.lifetime,
      scope: accessClaims.scope,
      // The same value as the token's aud: what the draft's processing rules say to return.
      resource: accessClaims.aud,
    };
  }
}

/** For each port a request calls: its name in a refusal, and the reason code of its failure. */
const PORT_FAILURES = {
  client_registry: { name: 'client registry', reason: 'client_registry_unavailable' },
  secret_store: { name: 'secret store', reason: 'secret_store_unavailable' },
  replay_guard: { name: 'replay guard', reason: 'replay_guard_unavailable' },
  signer: { name: 'signer', reason: 'signer_unavailable' },
  issuer_keys: { name: "issuer's JWKS", reason: 'jwks_unavailable' },
} as const satisfies Record<string, { name: string; reason: ReasonFor<'temporarily_unavailable'> }>;

/**
 * The refusals after which the presented client id is known to be a registered client or a
 * metadata document the policy admits: only those ids are logged.
 */
const LOGGABLE_CLIENT_REFUSALS: ReadonlySet<string> = new Set<ReasonFor<'invalid_client'>>([
  'client_disabled',
  'secret_not_found',
  'secret_mismatch',
  'auth_method_mismatch',
  'client_assertion_algorithm',
  'client_assertion_key_unknown',
  'client_assertion_signature',
  'client_assertion_expired',
  'client_assertion_malformed',
  'client_assertion_replayed',
  'client_keys_unavailable',
  'client_metadata_address_not_public',
  'client_metadata_redirect',
  'client_metadata_timeout',
  'client_metadata_unreachable',
  'client_metadata_too_large',
  'client_metadata_not_json',
  'client_metadata_client_id_mismatch',
  'client_metadata_invalid',
]);

const REAL_TIME = {
  nowMs: () => performance.now(),
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/** How long a failed request waits for a claim's outcome before answering. */
const GIVE_BACK_WAIT_MS = 1000;

/**
 * Releases a jti claim once it is known to have won. A release that cannot finish within the wait
 * goes on after the answer; should it fail, the assertion stays spent, which is the safe side.
 */
async function giveBack(claim: Promise<boolean>, release: () => Promise<void>): Promise<void> {
  const released = claim.then((won) => (won ? release() : undefined)).catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, GIVE_BACK_WAIT_MS);
  });
  await Promise.race([released, waited]);
  clearTimeout(timer);
}

/**
 * One request's time budget for its port calls, from the moment the request arrives (one timer per
 * request, not per call). A port that throws anything but an OAuth error, does not answer within
 * the budget, or answers with something malformed has failed on its side: the client may retry
 * (503 temporarily_unavailable). Once the budget is spent no further call starts: a write begun
 * after the answer was decided could only spend what the client is told to retry.
 */
class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private readonly expired: Promise<never>;
  private over = false;

  constructor(ms: number) {
    this.expired = new Promise<never>((_, reject) => {
      this.timer = setTimeout(() => {
        this.over = true;
        reject(new Error(`no answer within ${ms} ms`));
      }, ms);
    });
    this.expired.catch(() => undefined); // observed by the calls that race it
  }

  async call<T>(
    port: keyof typeof PORT_FAILURES,
    run: () => Promise<T>,
    wellFormed?: (value: T) => boolean,
  ): Promise<T> {
    try {
      if (this.over) throw new Error('the request has no time left');
      const value = await Promise.race([run(), this.expired]);
      if (wellFormed && !wellFormed(value)) throw new Error('malformed answer');
      return value;
    } catch (err) {
      if (err instanceof OAuthError) throw err;
      throw unavailable(port, err);
    }
  }

  /**
   * For work whose own errors mean something to the caller (an issuer's JWKS has no such kid):
   * only running out of time becomes a 503.
   */
  async bound<T>(port: keyof typeof PORT_FAILURES, run: () => Promise<T>): Promise<T> {
    if (this.over) throw unavailable(port, new Error('the request has no time left'));
    return Promise.race([
      run(),
      this.expired.catch((err: unknown) => {
        throw unavailable(port, err);
      }),
    ]);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

function unavailable(port: keyof typeof PORT_FAILURES, cause: unknown): TemporarilyUnavailable {
  const { name, reason } = PORT_FAILURES[port];
  return new TemporarilyUnavailable({
    reason,
    description: `the ${name} is unavailable; retry later`,
    cause,
  });
}

function isClientRecordOrNone(v: unknown): boolean {
  if (v === undefined) return true;
  const c = v as Partial<ClientRecord> | null;
  const strings = (x: unknown) => Array.isArray(x) && x.every((e) => typeof e === 'string');
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.clientId === 'string' &&
    typeof c.secretRef === 'string' &&
    strings(c.scopes) &&
    strings(c.resources) &&
    typeof c.enabled === 'boolean' &&
    (c.issuers === undefined || strings(c.issuers)) &&
    (c.tokenLifetime === undefined || (Number.isInteger(c.tokenLifetime) && c.tokenLifetime > 0)) &&
    (c.dpopBoundRequired === undefined || typeof c.dpopBoundRequired === 'boolean') &&
    (c.authMethod === undefined ||
      c.authMethod === 'client_secret' ||
      c.authMethod === 'private_key_jwt') &&
    (c.jwksUri === undefined || typeof c.jwksUri === 'string') &&
    (c.jwks === undefined ||
      (typeof c.jwks === 'object' && c.jwks !== null && Array.isArray(c.jwks.keys)))
  );
}
