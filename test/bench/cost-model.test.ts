/** The cost model behind docs/performance.md section 6 (bench/cost-model.ts): pure arithmetic on list prices. */
import {
  billedMs,
  costPerMillion,
  PRICES,
  saving,
  type CostInputs,
} from '../../bench/cost-model.js';

const base: CostInputs = {
  mode: 'kms',
  memoryMb: 512,
  billedMs: 20,
  replayWrites: 1,
  logBytes: 0,
  tokensPerContainer: 1e12,
};

const usd = (i: CostInputs, item: string) =>
  costPerMillion(i).rows.find((r) => r.item.startsWith(item))!.usd;

describe('costPerMillion', () => {
  it('reproduces the earlier kms-mode figure: $4.96 a million at 512 MB × 20 ms, logs aside', () => {
    const { total } = costPerMillion(base);
    expect(total).toBeCloseTo(4.958, 3);
    expect(usd(base, 'Lambda arm64 compute')).toBeCloseTo(0.1333, 4);
    expect(usd(base, 'KMS Sign')).toBeCloseTo(3, 10);
  });

  it('charges no KMS Sign in the wrapped-key mode, and its container start over the tokens it serves', () => {
    const wrapped: CostInputs = { ...base, mode: 'wrapped-key', tokensPerContainer: 1000 };
    expect(usd(wrapped, 'KMS Sign')).toBe(0);
    // One GetSecretValue and one Decrypt per 1,000 tokens: 1,000 starts a million.
    expect(usd(wrapped, 'per container start')).toBeCloseTo(
      (1000 * (PRICES.secretsManagerPer10k + PRICES.kmsSymmetricPer10k)) / 1e4,
      10,
    );
    expect(costPerMillion(wrapped).total).toBeCloseTo(1.958 + 0.008, 3);
  });

  it('counts every replay write and every logged byte', () => {
    const dpop = { ...base, replayWrites: 2, logBytes: 1500 };
    expect(usd(dpop, 'DynamoDB')).toBeCloseTo(2 * PRICES.dynamoWriteUnitsPerMillion, 10);
    // 1,500 bytes × a million = 1.5 GB at $0.50.
    expect(usd(dpop, 'CloudWatch Logs')).toBeCloseTo(0.75, 10);
  });

  it('sums its rows', () => {
    const { rows, total } = costPerMillion({ ...base, logBytes: 900, tokensPerContainer: 100 });
    expect(total).toBeCloseTo(
      rows.reduce((a, r) => a + r.usd, 0),
      12,
    );
  });
});

describe('billedMs', () => {
  it('is the wall time, rounded up, at a full vCPU or more', () => {
    expect(billedMs(10.2, 1, 1769)).toBe(11);
    expect(billedMs(10.2, 1, 3008)).toBe(11);
  });

  it('grows the CPU time to the share of a vCPU the memory buys', () => {
    // 512 MB is 512/1769 of a vCPU: 1 ms of CPU takes 3.455 ms, 2.455 more than measured.
    expect(billedMs(10, 1, 512)).toBe(13);
  });
});

describe('saving', () => {
  it('is the fraction below the kms figure', () => {
    expect(saving(4.96, 1.96)).toBeCloseTo(0.605, 3);
    expect(saving(2, 2)).toBe(0);
  });
});
