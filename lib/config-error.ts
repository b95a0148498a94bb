/**
 * A prop that cannot be used, named as the configuration files name it. Branch on the fields; the
 * message is for a person and is built from them.
 *
 * @example
 * ```ts
 * try {
 *   new XaaAuthorizationServer(stack, 'Auth', props);
 * } catch (err) {
 *   if (err instanceof XaaConfigError && err.key === 'customDomain.certificateArn') {
 *     // err.problem says what is wrong with it
 *   }
 *   throw err;
 * }
 * ```
 */
export class XaaConfigError extends Error {
  /** The configuration file the prop was read from, when it came from one. */
  readonly file?: string;

  constructor(
    /** The prop's path: `customDomain.certificateArn`, `trustedIssuers[0].jwksUri`. */
    readonly key: string,
    /** What is wrong with it, without its name. */
    readonly problem: string,
    options: { readonly file?: string; readonly cause?: unknown } = {},
  ) {
    super(
      `${options.file === undefined ? '' : `${options.file}: `}${key}: ${problem}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'XaaConfigError';
    if (options.file !== undefined) this.file = options.file;
  }

  /** The same mistake, found in `file`. */
  inFile(file: string): XaaConfigError {
    return new XaaConfigError(this.key, this.problem, { file, cause: this });
  }
}
