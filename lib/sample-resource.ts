/**
 * An optional sample protected resource on the same HTTP API, behind API Gateway's own JWT
 * authorizer configured with our issuer and the resource's identifier as audience. If it accepts
 * our tokens, AWS's verifier agrees with ours about discovery, JWKS and token format.
 */
import { HttpMethod, type HttpApi, type HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  PROTECTED_RESOURCE_METADATA_PATH,
  RESOURCE_SCOPES,
} from '../lambda/cdk-shared/sample-resource-routes.js';
import { RouteFunction } from './route-function.js';

export interface SampleResourceProps {
  readonly httpApi: HttpApi;
  readonly issuer: string;
  /** The resource identifier: the access token's `aud`. */
  readonly resource: string;
  readonly logRetention: RetentionDays;
  readonly entry: string;
  /**
   * Accept DPoP-bound tokens (RFC 9449). API Gateway's JWT authorizer cannot check a DPoP proof,
   * so the routes then have no authorizer and the function checks the token and its proof itself.
   * @default false
   */
  readonly dpop?: boolean;
}

/**
 * A sample protected resource on the server's API: it accepts the server's access tokens and
 * publishes its RFC 9728 metadata.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3
 */
export class SampleResource extends Construct {
  /** Checks the token's signature, `iss`, `aud` and lifetime before the function runs. */
  readonly authorizer: HttpJwtAuthorizer;
  /** Serves the resource's routes and its metadata. */
  readonly function: RouteFunction;
  /** Routes without an authorizer: the RFC 9728 metadata, public by definition. */
  readonly publicRoutes: readonly HttpRoute[];

  constructor(scope: Construct, id: string, props: SampleResourceProps) {
    super(scope, id);
    this.authorizer = new HttpJwtAuthorizer('AccessTokenAuthorizer', props.issuer, {
      jwtAudience: [props.resource],
      identitySource: ['$request.header.Authorization'],
    });
    this.function = new RouteFunction(this, 'ResourceFunction', {
      entry: props.entry,
      description: 'Sample protected resource behind the HTTP API JWT authorizer',
      environment: {
        ISSUER: props.issuer,
        RESOURCE: props.resource,
        ...(props.dpop && { TOKEN_CHECK: 'function' }),
      },
      logRetention: props.logRetention,
    });
    const integration = new HttpLambdaIntegration('ResourceIntegration', this.function.function);
    for (const [key, scope] of Object.entries(RESOURCE_SCOPES)) {
      const [method, path] = key.split(' ') as [HttpMethod, string];
      props.httpApi.addRoutes({
        path,
        methods: [method],
        integration,
        // With DPoP the function checks token, proof and scope; otherwise API Gateway checks the
        // token and its `scope` claim for the route's scope itself.
        ...(!props.dpop && { authorizer: this.authorizer, authorizationScopes: [scope] }),
      });
    }
    this.publicRoutes = props.httpApi.addRoutes({
      path: PROTECTED_RESOURCE_METADATA_PATH,
      methods: [HttpMethod.GET],
      integration,
    });
  }
}
