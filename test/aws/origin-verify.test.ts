/** The edge protection authorizer: only CloudFront's secret header passes. */
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { ConfigError } from '../../lambda/config.js';
import { createOriginVerifier } from '../../lambda/aws/origin-verify.js';

const SECRET = 'a'.repeat(20) + 'b'.repeat(20);
const event = (headers: Record<string, string> = {}) =>
  ({ type: 'REQUEST', routeArn: 'arn', headers }) as unknown as APIGatewayRequestAuthorizerEventV2;

test('the secret header passes; a missing, wrong, longer, shorter or differently cased value does not', async () => {
  const verify = createOriginVerifier(SECRET);
  expect(await verify(event({ 'x-origin-verify': SECRET }))).toEqual({ isAuthorized: true });
  const refused: Array<Record<string, string>> = [
    {},
    { 'x-origin-verify': '' },
    { 'x-origin-verify': SECRET.slice(1) },
    { 'x-origin-verify': `${SECRET}x` },
    { 'x-origin-verify': SECRET.toUpperCase() },
    { 'x-other-header': SECRET },
  ];
  for (const headers of refused) {
    expect([headers, await verify(event(headers))]).toEqual([headers, { isAuthorized: false }]);
  }
  expect(await verify({ ...event(), headers: undefined })).toEqual({ isAuthorized: false });
});

test('no secret, or a short one, stops the function at start-up naming the variable', () => {
  for (const secret of [undefined, '', 'short']) {
    expect(() => createOriginVerifier(secret)).toThrow(ConfigError);
    expect(() => createOriginVerifier(secret)).toThrow(/ORIGIN_VERIFY_SECRET/);
  }
});
