/** The MCP server construct: its routes on the HTTP API, one function, its resource identifier. */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { fileURLToPath } from 'node:url';
import { McpServerResource } from '../../lib/mcp-server-resource.js';

const ENTRY = fileURLToPath(
  new URL('../../lambda/example-resources/mcp/lambda.ts', import.meta.url),
);

function synth(path?: string) {
  // Without bundling: this checks the template, not the bundle.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'McpTest');
  const httpApi = new HttpApi(stack, 'Api');
  const mcp = new McpServerResource(stack, 'Mcp', {
    httpApi,
    issuer: 'https://auth.example.com',
    logRetention: RetentionDays.ONE_WEEK,
    entry: ENTRY,
    ...(path && { path }),
  });
  return { mcp, template: Template.fromStack(stack) };
}

test('the endpoint (any method) and its RFC 9728 metadata, both public, to one function', () => {
  const { mcp, template } = synth();
  expect(mcp.resource).toBe('https://auth.example.com/mcp');
  const routes = template.findResources('AWS::ApiGatewayV2::Route');
  const keys = Object.values(routes).map((r) => (r.Properties as { RouteKey: string }).RouteKey);
  expect(keys.sort()).toEqual(['ANY /mcp', 'GET /.well-known/oauth-protected-resource/mcp']);
  for (const r of Object.values(routes))
    expect((r.Properties as { AuthorizationType: string }).AuthorizationType).toBe('NONE');
  template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'nodejs22.x',
    Environment: {
      Variables: Match.objectLike({
        ISSUER: 'https://auth.example.com',
        RESOURCE: 'https://auth.example.com/mcp',
        MCP_PATH: '/mcp',
      }),
    },
  });
});

test('another path moves the endpoint, the metadata and the resource together', () => {
  const { mcp, template } = synth('/tools/mcp');
  expect(mcp.resource).toBe('https://auth.example.com/tools/mcp');
  template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
    RouteKey: 'GET /.well-known/oauth-protected-resource/tools/mcp',
  });
});

test('a path with a trailing slash or no leading slash stops the synth', () => {
  expect(() => synth('/mcp/')).toThrow(/path/);
  expect(() => synth('mcp')).toThrow(/path/);
});
