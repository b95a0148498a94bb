// The little of node-oidc-provider the benchmark's peer uses (the package ships no types).
declare module 'oidc-provider' {
  interface GrantContext {
    oidc: { client: { clientId: string }; params: Record<string, unknown> };
    body: unknown;
  }
  interface Token {
    resourceServer: unknown;
    readonly expiration: number;
    readonly scope: string | undefined;
    save(): Promise<string>;
  }
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    registerGrantType(
      name: string,
      handler: (ctx: GrantContext) => Promise<void>,
      params?: string[],
    ): void;
    listen(port: number, host: string): unknown;
    ReplayDetection: { unique(iss: string, jti: string, exp: number): Promise<boolean> };
    AccessToken: new (fields: Record<string, unknown>) => Token;
    ResourceServer: new (identifier: string, info: Record<string, unknown>) => unknown;
  }
  export const errors: { InvalidGrant: new (description: string) => Error };
}
