/**
 * Sizing the token route's throttle from the account's KMS RSA request quota (kms mode). Every
 * token is one kms:Sign, and the quota is shared by every RSA key and caller of the account and
 * region: past it KMS throttles, the SDK retries, and the client waits for a 503. A route throttle
 * at this server's share of the quota turns the same overload into API Gateway's immediate 429,
 * before any function runs. The KmsRsaRequestQuota alarm (lib/observability.ts) watches the whole
 * account's use of the same quota.
 */
import { XaaConfigError } from './config-error.js';
import type { SigningMode } from './signing-keys.js';

/**
 * Size the token throttle from the account's KMS RSA request quota.
 *
 * @example
 * ```ts
 * // 1000 RSA requests/s in this region, 40% of them for this server: the token route takes 400/s.
 * kmsRequestQuota: { rsaRequestsPerSecond: 1000, tokenShare: 0.4 }
 * ```
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html
 */
export interface KmsRequestQuotaProps {
  /**
   * The account's "Cryptographic operations (RSA) request rate" quota in this region, requests
   * per second (Service Quotas shows it). @default 500, the default the AWS KMS Developer Guide
   * states ("Request quotas")
   */
  readonly rsaRequestsPerSecond?: number;
  /**
   * The share of it this server's token route may use, above 0 and at most 1: leave the rest to
   * the account's other RSA callers. Required whenever `kmsRequestQuota` is given: only you know
   * what else in the account signs with RSA.
   */
  readonly tokenShare?: number;
}

/** KMS's default RSA request quota, per account and region. */
export const DEFAULT_KMS_RSA_REQUESTS_PER_SECOND = 500;

interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/**
 * The token throttle: `resolved` unchanged without a quota; with one, its share as the rate and
 * the burst (a burst above one second of the share would reach KMS as a spike past it). A rate or
 * burst given explicitly must fit inside the share.
 */
export function checkKmsRequestQuota(
  quota: KmsRequestQuotaProps | undefined,
  given: { readonly rateLimit?: number; readonly burstLimit?: number } | undefined,
  resolved: Throttle,
  activeMode: SigningMode,
): Throttle {
  if (quota === undefined) return resolved;
  const K = 'kmsRequestQuota';
  if (activeMode !== 'kms')
    throw new XaaConfigError(
      K,
      'sizes the token throttle for the "kms" signing mode; the active key signs in the ' +
        `"${activeMode}" mode, which makes no KMS call per token: remove it`,
    );
  const perSecond = quota.rsaRequestsPerSecond ?? DEFAULT_KMS_RSA_REQUESTS_PER_SECOND;
  if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond <= 0)
    throw new XaaConfigError(
      `${K}.rsaRequestsPerSecond`,
      'must be a positive number of requests per second',
    );
  const share = quota.tokenShare;
  if (typeof share !== 'number' || !(share > 0) || share > 1)
    throw new XaaConfigError(`${K}.tokenShare`, 'is required: a fraction above 0 and at most 1');
  const rate = Math.floor(perSecond * share);
  if (rate < 1)
    throw new XaaConfigError(
      `${K}.tokenShare`,
      `${share} of ${perSecond}/s is less than one request per second`,
    );
  if (given?.rateLimit !== undefined && resolved.rateLimit > rate)
    throw new XaaConfigError(
      'tokenThrottle.rateLimit',
      `${resolved.rateLimit}/s is above this server's share of the KMS RSA quota (${share} × ${perSecond}/s = ${rate}/s)`,
    );
  if (given?.burstLimit !== undefined && resolved.burstLimit > rate)
    throw new XaaConfigError(
      'tokenThrottle.burstLimit',
      `${resolved.burstLimit} is above one second of this server's share of the KMS RSA quota (${rate})`,
    );
  return {
    rateLimit: given?.rateLimit !== undefined ? resolved.rateLimit : rate,
    burstLimit: given?.burstLimit !== undefined ? resolved.burstLimit : rate,
  };
}
