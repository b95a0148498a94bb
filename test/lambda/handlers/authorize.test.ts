/** DISC-AUTHZ-ENDPOINT: {issuer}/authorize exists, and answers every request with a clear error. */
import { createAuthorizeHandler } from '../../../lambda/handlers/authorize.js';
import { loadServiceConfig } from '../../../lambda/config.js';
import { httpEvent } from '../../support/events.js';
import { bodyOf, ISSUER } from '../../support/harness.js';

const handler = createAuthorizeHandler(loadServiceConfig({ ISSUER }));

const withQuery = (method: string, query: string, headers: Record<string, string> = {}) => ({
  ...httpEvent(method, '/authorize', { headers }),
  rawQueryString: query,
  queryStringParameters: Object.fromEntries(new URLSearchParams(query)),
});

const hostile =
  'response_type=code&client_id=c&state=%3Cscript%3E&redirect_uri=https%3A%2F%2Fevil.example%2Fcb';

test.each(['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD'])(
  '%s: 400 unsupported_response_type, no-store, never a redirect',
  async (method) => {
    const res = await handler(withQuery(method, hostile));
    expect(res.statusCode).toBe(400);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.location).toBeUndefined();
    expect(bodyOf(res)).toEqual({
      error: 'unsupported_response_type',
      error_description: expect.stringContaining(`${ISSUER}/token`),
    });
  },
);

test('with no parameters at all, the same error', async () => {
  const res = await handler(httpEvent('GET', '/authorize'));
  expect(res.statusCode).toBe(400);
  expect(bodyOf(res).error).toBe('unsupported_response_type');
});

test('a browser gets a page that echoes nothing from the request', async () => {
  const res = await handler(
    withQuery('GET', hostile, { accept: 'text/html,application/xhtml+xml' }),
  );
  expect(res.statusCode).toBe(400);
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers['content-security-policy']).toContain("default-src 'none'");
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body).toContain('unsupported_response_type');
  expect(res.body).not.toMatch(/evil|<script/);
});
