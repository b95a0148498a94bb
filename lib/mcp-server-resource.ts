/**
 * The example MCP server on the same HTTP API as the authorization server: its endpoint (any
 * method: Streamable HTTP uses POST, and GET and DELETE get their answers from the MCP SDK) and its
 * RFC 9728 metadata, both public routes served by one function. No API Gateway authorizer: the
 * scope a call needs depends on the tool named in the JSON-RPC body, so the function checks the
 * token itself, as it does locally.
 */
import { HttpMethod, type HttpApi, type HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { XaaConfigError } from './config-error.js';
import { RouteFunction } from './route-function.js';

export interface McpServerResourceProps {
  readonly httpApi: HttpApi;
  /** Our issuer: the only accepted `iss`, and the metadata's authorization server. */
  readonly issuer: string;
  /** The MCP endpoint's path on the HTTP API. @default '/mcp' */
  readonly path?: string;
  readonly logRetention: RetentionDays;
  /** The Lambda entry (lambda/example-resources/mcp/lambda.ts). */
  readonly entry: string;
}

export class McpServerResource extends Construct {
  readonly function: RouteFunction;
  readonly routes: readonly HttpRoute[];
  /**
   * The resource identifier, `{issuer}{path}`: the MCP endpoint's own URL, as MCP clients expect;
   * the access token's `aud` and the metadata's `resource`.
   */
  readonly resource: string;

  constructor(scope: Construct, id: string, props: McpServerResourceProps) {
    super(scope, id);
    const path = props.path ?? '/mcp';
    if (!/^\/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$/.test(path))
      throw new XaaConfigError(
        'path',
        `must be an absolute path without a trailing slash, got ${JSON.stringify(path)}`,
      );
    this.resource = `${props.issuer}${path}`;
    this.function = new RouteFunction(this, 'McpFunction', {
      entry: props.entry,
      description: 'Example MCP server, protected by this authorization server',
      environment: { ISSUER: props.issuer, RESOURCE: this.resource, MCP_PATH: path },
      logRetention: props.logRetention,
    });
    const integration = new HttpLambdaIntegration('McpIntegration', this.function.function);
    this.routes = [
      ...props.httpApi.addRoutes({ path, methods: [HttpMethod.ANY], integration }),
      // RFC 9728 §3.1: the well-known path for a resource URL with a path.
      ...props.httpApi.addRoutes({
        path: `/.well-known/oauth-protected-resource${path}`,
        methods: [HttpMethod.GET],
        integration,
      }),
    ];
  }
}
