/** The MCP server's Lambda entry: API Gateway payload 2.0 in, the same answers as locally out. */
import { httpEvent } from '../../../support/events.js';

process.env.ISSUER = 'https://auth.example.com';
process.env.RESOURCE = 'https://auth.example.com/mcp';
const { handler } = await import('../../../../lambda/example-resources/mcp/lambda.js');

test('the RFC 9728 metadata, at the path-aware well-known URL', async () => {
  const res = await handler(httpEvent('GET', '/.well-known/oauth-protected-resource/mcp'));
  expect(res.statusCode).toBe(200);
  expect(JSON.parse(res.body!)).toMatchObject({
    resource: 'https://auth.example.com/mcp',
    authorization_servers: ['https://auth.example.com'],
  });
});

test('a base64-encoded JSON-RPC POST without a token: 401 pointing at the metadata', async () => {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
  const res = await handler(
    httpEvent('POST', '/mcp', {
      body,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
    }),
  );
  expect(res.statusCode).toBe(401);
  expect(res.headers!['www-authenticate']).toMatch(
    /^Bearer resource_metadata="https:\/\/auth\.example\.com\/\.well-known\/oauth-protected-resource\/mcp", DPoP algs="/,
  );
});
