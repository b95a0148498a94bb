/**
 * What one million tokens cost on AWS in each signing mode, from list prices and the figures a
 * run measured. Pure: docs/performance.md section 6 prints what this returns, and test/bench/ checks it.
 */

/**
 * us-east-1 list prices, as AWS publishes them (docs/performance.md section 6 names each page). On-demand,
 * first tier, no free tier, no Savings Plans.
 */
export const PRICES = {
  /** API Gateway HTTP APIs, first 300 million requests a month, per million. */
  apiGatewayHttpPerMillion: 1.0,
  /** Lambda, per million requests. */
  lambdaRequestsPerMillion: 0.2,
  /** Lambda on arm64, per GB-second (first 7.5 billion GB-seconds a month). */
  lambdaArmGbSecond: 0.0000133334,
  /** KMS, per 10,000 requests with an RSA 2048 key (Sign, GetPublicKey). */
  kmsRsa2048Per10k: 0.03,
  /** KMS, per 10,000 symmetric requests (Decrypt). */
  kmsSymmetricPer10k: 0.03,
  /** DynamoDB on-demand, per million write request units (1 KB each, standard table class). */
  dynamoWriteUnitsPerMillion: 0.625,
  /** Secrets Manager, per 10,000 API calls. */
  secretsManagerPer10k: 0.05,
  /** CloudWatch Logs, standard ingestion, per GB (counted here as 10^9 bytes). */
  cloudWatchLogsPerGb: 0.5,
} as const;

/** Lambda gives a function one vCPU's worth of CPU at this much memory (AWS Lambda Developer Guide). */
export const LAMBDA_MB_PER_VCPU = 1769;

export type SigningMode = 'kms' | 'wrapped-key';

export interface CostInputs {
  readonly mode: SigningMode;
  /** The token function's memory, MB. */
  readonly memoryMb: number;
  /** Billed duration of one token, ms (Lambda bills by the millisecond). */
  readonly billedMs: number;
  /** Conditional writes per token: 1 (the ID-JAG's jti), 2 with DPoP (the proof's too). */
  readonly replayWrites: number;
  /** Bytes one token writes to CloudWatch Logs (function and platform lines, access log). */
  readonly logBytes: number;
  /** Tokens a container serves between its start and its end: what a start's calls spread over. */
  readonly tokensPerContainer: number;
}

export interface CostRow {
  readonly item: string;
  /** USD per million tokens. */
  readonly usd: number;
}

export function costPerMillion(i: CostInputs): { rows: CostRow[]; total: number } {
  const starts = 1e6 / i.tokensPerContainer;
  const rows: CostRow[] = [
    { item: 'API Gateway HTTP API, 1 request', usd: PRICES.apiGatewayHttpPerMillion },
    { item: 'Lambda requests', usd: PRICES.lambdaRequestsPerMillion },
    {
      item: `Lambda arm64 compute, ${i.memoryMb} MB × ${i.billedMs} ms`,
      usd: (i.memoryMb / 1024) * (i.billedMs / 1000) * PRICES.lambdaArmGbSecond * 1e6,
    },
    {
      item: 'KMS Sign, RSA 2048, 1 per token',
      usd: i.mode === 'kms' ? PRICES.kmsRsa2048Per10k * 100 : 0,
    },
    {
      item: `DynamoDB on-demand, ${i.replayWrites} conditional write${i.replayWrites === 1 ? '' : 's'} (replay record < 1 KB)`,
      usd: i.replayWrites * PRICES.dynamoWriteUnitsPerMillion,
    },
    {
      item: `CloudWatch Logs, ${Math.round(i.logBytes)} bytes a token`,
      usd: ((i.logBytes * 1e6) / 1e9) * PRICES.cloudWatchLogsPerGb,
    },
    {
      item:
        i.mode === 'kms'
          ? `per container start: 1 KMS GetPublicKey, over ${i.tokensPerContainer.toLocaleString('en-US')} tokens`
          : `per container start: 1 GetSecretValue + 1 KMS Decrypt, over ${i.tokensPerContainer.toLocaleString('en-US')} tokens`,
      usd:
        i.mode === 'kms'
          ? (starts * PRICES.kmsRsa2048Per10k) / 1e4
          : (starts * (PRICES.secretsManagerPer10k + PRICES.kmsSymmetricPer10k)) / 1e4,
    },
    { item: 'client registry and client secret reads (cached per container)', usd: 0 },
  ];
  return { rows, total: rows.reduce((a, r) => a + r.usd, 0) };
}

/**
 * The time one token bills on Lambda, from a run on this machine: the measured wall time (the
 * modelled waits included), plus what the measured CPU time grows to at the function's CPU share
 * (memoryMb / 1769 of a vCPU, taken as one core of this machine), rounded up to the millisecond.
 * An upper bound: CPU that overlaps a wait is counted as if it did not.
 */
export function billedMs(wallMs: number, cpuMs: number, memoryMb: number): number {
  const share = Math.min(1, memoryMb / LAMBDA_MB_PER_VCPU);
  return Math.ceil(wallMs + cpuMs * (1 / share - 1));
}

/** How far below `kms` the other costs, as a fraction (0.55: 55 % below). */
export function saving(kms: number, other: number): number {
  return 1 - other / kms;
}
