/** The development IdP: discovery, JWKS and minted ID-JAGs that our server accepts. */

import { rsaPrivateKey } from '../support/test-keys.js';
import type { Server } from 'node:http';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
} from 'jose';
import { DevIdp, listeningUrl } from '../../local/dev-idp.js';
import { KeyFileSigner } from '../../lambda/key-file-signer.js';

let idp: DevIdp;
let server: Server;
let url: string;
beforeAll(async () => {
  const key = await KeyFileSigner.fromPrivateKey(rsaPrivateKey());
  idp = new DevIdp('http://localhost:4000', key);
  server = await idp.listen(0);
  url = listeningUrl(server);
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

test('mints an ID-JAG shaped like the playground IdP\u2019s, verifiable with its JWKS', async () => {
  const jag = await idp.mint({
    audience: 'https://as.example',
    clientId: 'c1',
    scope: 'read',
    resource: 'https://api.example/',
  });
  expect(decodeProtectedHeader(jag)).toMatchObject({
    alg: 'RS256',
    typ: 'oauth-id-jag+jwt',
    kid: expect.any(String),
  });
  const jwks = (await (await fetch(`${url}/jwks`)).json()) as JSONWebKeySet;
  const { payload } = await jwtVerify(jag, createLocalJWKSet(jwks), {
    issuer: 'http://localhost:4000',
    audience: 'https://as.example',
  });
  expect(payload).toMatchObject({
    sub: 'alice@example.com',
    client_id: 'c1',
    scope: 'read',
    resource: 'https://api.example/',
  });
  expect(payload.exp! - payload.iat!).toBe(300);
  expect(payload.jti).toEqual(expect.any(String));
});

test('POST /id-jag mints over HTTP; audience and client_id are required', async () => {
  const res = await fetch(`${url}/id-jag`, {
    method: 'POST',
    body: new URLSearchParams({
      audience: 'https://as.example',
      client_id: 'c2',
      resource: 'https://a.example/ https://b.example/',
    }),
  });
  const { id_jag } = (await res.json()) as { id_jag: string };
  expect(decodeJwt(id_jag)).toMatchObject({
    client_id: 'c2',
    resource: ['https://a.example/', 'https://b.example/'],
  });
  const bad = await fetch(`${url}/id-jag`, {
    method: 'POST',
    body: new URLSearchParams({ client_id: 'c2' }),
  });
  expect(bad.status).toBe(400);
});

test('publishes discovery with its issuer and jwks_uri', async () => {
  const doc = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as Record<
    string,
    string
  >;
  expect(doc).toMatchObject({
    issuer: 'http://localhost:4000',
    jwks_uri: 'http://localhost:4000/jwks',
  });
});

test('DPOP-CNF-JKT: binds an ID-JAG to a DPoP key (cnf.jkt), directly and over HTTP', async () => {
  const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
  expect(
    decodeJwt(await idp.mint({ audience: 'https://as.example', clientId: 'c', jkt })),
  ).toMatchObject({ cnf: { jkt } });
  const res = await fetch(`${url}/id-jag`, {
    method: 'POST',
    body: new URLSearchParams({ audience: 'https://as.example', client_id: 'c', jkt }),
  });
  const { id_jag } = (await res.json()) as { id_jag: string };
  expect(decodeJwt(id_jag).cnf).toEqual({ jkt });
  expect(
    decodeJwt(await idp.mint({ audience: 'https://as.example', clientId: 'c' })).cnf,
  ).toBeUndefined();
});
