/** When each alarm fires: the thresholds, their defaults, and the check of given ones. */
import { XaaConfigError } from '../config-error.js';

/**
 * When each alarm fires. Rates are percentages of the requests (or invocations) in a 5-minute
 * period; counts are per 5-minute period. Sizing guidance for each is in docs/operations.md
 * ("Alarms", "Thresholds").
 */
export interface AlarmThresholds {
  /** Below this many requests in a period, no rate alarm fires (one failure in three is noise). @default 20 */
  readonly minRequests: number;
  /** POST /token answered 5xx (503 temporarily_unavailable included). @default 1 */
  readonly tokenServerErrorPercent: number;
  /** POST /token refused with temporarily_unavailable: KMS, DynamoDB, Secrets Manager or an IdP's JWKS. @default 1 */
  readonly tokenUnavailablePercent: number;
  /** Any route answered 5xx. @default 1 */
  readonly apiServerErrorPercent: number;
  /** Any route answered 429: the stage or the token route throttle turned callers away. @default 5 */
  readonly apiThrottledPercent: number;
  /** POST /token's p99 latency (ms), sustained for 15 minutes. At most 30,000 (API Gateway's limit). @default 1000 */
  readonly tokenLatencyP99Ms: number;
  /**
   * A function's failed invocations (unhandled error, timeout, failed start) as a percentage of
   * its invocations, reached in two of three consecutive 5-minute periods: one failure alone never
   * fires, a function that keeps failing does within 10 to 15 minutes. The handlers answer every
   * refusal and dependency failure themselves, so what counts here is a broken function; on a busy
   * token function, where 5% is many requests, lower it (TokenServerErrorRate watches the clients'
   * side at 1%).
   * @default 5
   */
  readonly functionErrorPercent: number;
  /**
   * KMS RSA requests of the whole account and region (every RSA key and caller, not only this
   * server's Sign calls) as a percentage of the "Cryptographic operations (RSA) request rate"
   * quota, in three of the last five minutes. Every token is one Sign, so this is the head room
   * before KMS throttles and tokens fail with 503. Lower it when a quota increase takes longer to
   * obtain than your traffic takes to grow the last 20%.
   * @default 80
   */
  readonly kmsRsaQuotaPercent: number;
  /**
   * invalid_client refusals (every AUTH-FAILURE reason together) in 5 minutes: a client with a
   * stale secret retrying, or someone guessing secrets. Set it above what a normal 5 minutes
   * shows on the dashboard's refusal graph; a client that retries every few seconds alone sends
   * 50 or more.
   * @default 20
   */
  readonly invalidClientCount: number;
  /**
   * Replayed ID-JAGs and DPoP proofs (reasons jti_replayed and dpop_jti_replayed) in 5 minutes.
   * A correct client never replays; a few come from clients that resend after a timeout, many mean
   * a client bug or a stolen assertion being tried.
   * @default 5
   */
  readonly replayCount: number;
}

/** The thresholds in force for every one not given. */
export const DEFAULT_ALARM_THRESHOLDS: AlarmThresholds = {
  minRequests: 20,
  tokenServerErrorPercent: 1,
  tokenUnavailablePercent: 1,
  apiServerErrorPercent: 1,
  apiThrottledPercent: 5,
  tokenLatencyP99Ms: 1000,
  functionErrorPercent: 5,
  kmsRsaQuotaPercent: 80,
  invalidClientCount: 20,
  replayCount: 5,
};

/** How each threshold is checked: a whole count, a percentage, or a latency API Gateway can reach. */
const THRESHOLD_KINDS: { readonly [K in keyof AlarmThresholds]: 'count' | 'percent' | 'ms' } = {
  minRequests: 'count',
  tokenServerErrorPercent: 'percent',
  tokenUnavailablePercent: 'percent',
  apiServerErrorPercent: 'percent',
  apiThrottledPercent: 'percent',
  tokenLatencyP99Ms: 'ms',
  functionErrorPercent: 'percent',
  kmsRsaQuotaPercent: 'percent',
  invalidClientCount: 'count',
  replayCount: 'count',
};

/** API Gateway answers 504 after 30 s, so no request is slower and a higher p99 never fires. */
const MAX_LATENCY_MS = 30_000;

/**
 * The thresholds with the defaults filled in.
 *
 * @param given - the thresholds to change; an undefined one keeps its default
 * @param key - the prop path the thresholds sit at, for the error: `alarms.thresholds` when they
 *   come from the server's props
 * @throws XaaConfigError naming the first unknown or unusable threshold
 */
export function resolveAlarmThresholds(
  given: Partial<AlarmThresholds> = {},
  key = 'thresholds',
): AlarmThresholds {
  const names = Object.keys(THRESHOLD_KINDS);
  const t: Record<string, unknown> = { ...DEFAULT_ALARM_THRESHOLDS };
  for (const [name, value] of Object.entries(given ?? {})) {
    if (!(name in THRESHOLD_KINDS))
      throw new XaaConfigError(`${key}.${name}`, `is not a threshold (one of ${names.join(', ')})`);
    if (value !== undefined) t[name] = value;
  }
  for (const [name, kind] of Object.entries(THRESHOLD_KINDS)) {
    const value = t[name];
    const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
    const bad = (rule: string) =>
      new XaaConfigError(`${key}.${name}`, `must be ${rule}, got ${shown}`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw bad('a positive number');
    if (kind === 'count' && !Number.isInteger(value)) throw bad('a whole number');
    if (kind === 'percent' && value > 100) throw bad('a percentage, at most 100');
    if (kind === 'ms' && value > MAX_LATENCY_MS)
      throw bad(`at most ${MAX_LATENCY_MS} ms (API Gateway gives up at 30 s)`);
  }
  return t as unknown as AlarmThresholds;
}
