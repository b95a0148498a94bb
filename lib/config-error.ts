/**
 * A prop that cannot be used, named as the configuration files name it: `key` is the prop's path
 * (`customDomain.certificateArn`, `alarms.thresholds.replayCount`), `problem` what is wrong with it.
 */
export class XaaConfigError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${key}: ${problem}`);
    this.name = 'XaaConfigError';
  }
}
