/**
 * The whole Cross App Access flow on loopback, step by step: a development IdP signs an ID-JAG, our
 * server redeems it for an access token, a protected resource accepts that token — and the
 * refusals that matter (a replayed ID-JAG, a token without the needed scope) happen as they should.
 * Last, the same with proof of possession: an ID-JAG bound to the client's DPoP key, a DPoP token.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  SignJWT,
} from 'jose';
import { ClientAdmin } from '../../local/admin/client-admin.js';
import { loadLocalConfig } from '../../lambda/config.js';
import { openLocalAdminStore } from '../../local/admin/local-admin.js';
import { startLocalServer } from '../../local/server.js';
import { silentLog } from '../../lambda/logging.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import { createResourceListener } from '../../lambda/example-resources/sample/node-listener.js';

import { DemoStage, freePort, type Print } from './stage.js';

export type { Print };

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

const indent = (value: unknown) => JSON.stringify(value, null, 2).replace(/^/gm, '    ');

/** Runs the demo; resolves true only if every step behaved as it should. */
export async function runDemo(print: Print): Promise<boolean> {
  const stage = new DemoStage(print);
  const { step, expectThat } = stage;
  try {
    // 1. The cast: an IdP, our authorization server, and a resource server, each on loopback.
    const dataDir = await stage.dataDir('xaa-demo-');
    const idp = await stage.devIdp();
    const asPort = await freePort();

    const config = loadLocalConfig({
      PORT: String(asPort),
      DATA_DIR: dataDir,
      TRUSTED_ISSUERS: JSON.stringify([{ issuer: idp.issuer, jwks_uri: idp.jwksUri }]),
    });
    const as = await startLocalServer(config, { logger: silentLog });
    stage.onClose(() => as.close());

    const resourceServer = createServer();
    const resourcePort = await listen(resourceServer);
    const resource = `http://localhost:${resourcePort}/`;
    // The resource's own Node front end: the token before any body, bodies capped.
    resourceServer.on(
      'request',
      createResourceListener({
        issuer: config.issuer,
        resource,
        jwksUri: `${config.issuer}/.well-known/jwks.json`,
      }),
    );
    stage.onClose(
      () =>
        new Promise((r) => {
          resourceServer.closeAllConnections();
          resourceServer.close(r);
        }),
    );

    step('The parties');
    print(`  enterprise IdP (development)   ${idp.issuer}`);
    print(`  authorization server (ours)    ${config.issuer}`);
    print(`  protected resource             ${resource}`);

    // 2. A client registered with our server, allowed read and write on that resource.
    step('Register a client with the authorization server');
    const opened = await openLocalAdminStore(dataDir);
    const admin = new ClientAdmin(opened.store, opened.store, 'client/');
    const { client, clientSecret } = await admin.add({
      clientId: 'demo-client',
      scopes: ['read', 'write'],
      resources: [resource],
    });
    opened.close();
    print(
      `  client_id ${client.clientId}, scopes "${client.scopes.join(' ')}", resource ${resource}`,
    );

    // 3. The IdP signs an ID-JAG for alice, for our server, for that client, with scope read only.
    step('The IdP issues an ID-JAG (decoded)');
    const idJag = await idp.mint({
      audience: config.issuer,
      clientId: client.clientId,
      scope: 'read',
      resource,
    });
    print(`  header  ${JSON.stringify(decodeProtectedHeader(idJag))}`);
    print(`  claims\n${indent(decodeJwt(idJag))}`);

    // 4. The client redeems it at our token endpoint.
    step('The client redeems it at the token endpoint');
    const form = {
      grant_type: JWT_BEARER_GRANT,
      assertion: idJag,
      client_id: client.clientId,
      client_secret: clientSecret,
    };
    print(`  POST ${config.issuer}/token`);
    print(`    grant_type=${JWT_BEARER_GRANT}`);
    print(`    assertion=${idJag.slice(0, 24)}\u2026`);
    print(`    client_id=${client.clientId}`);
    print(`    client_secret=${clientSecret.slice(0, 4)}${'*'.repeat(12)}`);
    const tokenUrl = `${as.url}/token`;
    const res = await fetch(tokenUrl, { method: 'POST', body: new URLSearchParams(form) });
    const body = (await res.json()) as Record<string, unknown>;
    print(
      `  ${res.status} ${JSON.stringify({ ...body, access_token: typeof body.access_token === 'string' ? `${body.access_token.slice(0, 24)}\u2026` : undefined })}`,
    );
    if (
      !expectThat(
        'an access token is issued',
        res.status === 200 && typeof body.access_token === 'string',
      )
    )
      return false;
    const accessToken = body.access_token as string;

    step('The access token (decoded)');
    print(`  header  ${JSON.stringify(decodeProtectedHeader(accessToken))}`);
    const claims = decodeJwt(accessToken);
    print(`  claims\n${indent(claims)}`);
    expectThat(
      'it is an RFC 9068 token for the resource, with scope read',
      claims.aud === resource &&
        claims.scope === 'read' &&
        decodeProtectedHeader(accessToken).typ === 'at+jwt',
    );

    // 5. The resource accepts it for a route that needs read.
    step('The client calls the protected resource with it');
    const profile = await fetch(`${resource}api/profile`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    print(`  GET ${resource}api/profile \u2192 ${profile.status} ${await profile.text()}`);
    expectThat('the resource answers 200', profile.status === 200);

    // 6. The refusals.
    step('Refusal: the same ID-JAG redeemed again');
    const replay = await fetch(tokenUrl, { method: 'POST', body: new URLSearchParams(form) });
    const replayBody = (await replay.json()) as Record<string, unknown>;
    print(`  ${replay.status} ${JSON.stringify(replayBody)}`);
    expectThat(
      'refused with invalid_grant, no token',
      replay.status === 400 &&
        replayBody.error === 'invalid_grant' &&
        !('access_token' in replayBody),
    );

    step('Refusal: the token used on a route that needs scope write');
    const notes = await fetch(`${resource}api/notes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    print(`  POST ${resource}api/notes \u2192 ${notes.status} ${await notes.text()}`);
    print(`  WWW-Authenticate: ${notes.headers.get('www-authenticate')}`);
    expectThat(
      'refused with 403 insufficient_scope',
      notes.status === 403 &&
        /insufficient_scope/.test(notes.headers.get('www-authenticate') ?? ''),
    );

    step('Refusal: no token at all');
    const anonymous = await fetch(`${resource}api/profile`);
    print(
      `  GET ${resource}api/profile \u2192 ${anonymous.status}, WWW-Authenticate: ${anonymous.headers.get('www-authenticate')}`,
    );
    expectThat(
      'refused with 401 and a pointer to the resource metadata',
      anonymous.status === 401 &&
        /resource_metadata=/.test(anonymous.headers.get('www-authenticate') ?? ''),
    );

    // 7. Proof of possession (RFC 9449): the IdP binds the ID-JAG to the client's DPoP key, our
    // server issues a token bound to it, and the resource takes it only with a proof by that key.
    step('Proof of possession: an ID-JAG bound to the client\u2019s DPoP key (cnf.jkt)');
    const dpop = await generateKeyPair('ES256');
    const jwk = await exportJWK(dpop.publicKey);
    const jkt = await calculateJwkThumbprint(jwk);
    const proof = (htm: string, htu: string, ath?: string) =>
      new SignJWT({
        jti: randomUUID(),
        htm,
        htu,
        iat: Math.floor(Date.now() / 1000),
        ...(ath && { ath }),
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(dpop.privateKey);
    const boundJag = await idp.mint({
      audience: config.issuer,
      clientId: client.clientId,
      scope: 'read',
      resource,
      jkt,
    });
    print(`  the client's key thumbprint  ${jkt}`);
    print(`  ID-JAG cnf                   ${JSON.stringify(decodeJwt(boundJag).cnf)}`);
    const boundForm = new URLSearchParams({ ...form, assertion: boundJag });
    const noProof = await fetch(tokenUrl, { method: 'POST', body: boundForm });
    const noProofBody = (await noProof.json()) as Record<string, unknown>;
    print(
      `  POST /token without a DPoP header \u2192 ${noProof.status} ${JSON.stringify(noProofBody)}`,
    );
    expectThat(
      'refused with invalid_grant: the grant is bound',
      noProofBody.error === 'invalid_grant',
    );
    const bound = await fetch(tokenUrl, {
      method: 'POST',
      headers: { dpop: await proof('POST', `${config.issuer}/token`) },
      body: boundForm,
    });
    const boundBody = (await bound.json()) as Record<string, unknown>;
    const boundToken = String(boundBody.access_token);
    print(`  POST /token with DPoP: <proof for POST ${config.issuer}/token>`);
    print(
      `  ${bound.status} token_type ${String(boundBody.token_type)}, cnf ${JSON.stringify(decodeJwt(boundToken).cnf)}`,
    );
    expectThat(
      'a DPoP token bound to that key',
      boundBody.token_type === 'DPoP' &&
        (decodeJwt(boundToken).cnf as { jkt?: string })?.jkt === jkt,
    );
    const asBearer = await fetch(`${resource}api/profile`, {
      headers: { authorization: `Bearer ${boundToken}` },
    });
    print(
      `  GET ${resource}api/profile as Bearer \u2192 ${asBearer.status}, WWW-Authenticate: ${asBearer.headers.get('www-authenticate')?.slice(0, 60)}\u2026`,
    );
    expectThat('the resource refuses a bound token presented as Bearer', asBearer.status === 401);
    const ath = createHash('sha256').update(boundToken).digest('base64url');
    const withProof = await fetch(`${resource}api/profile`, {
      headers: {
        authorization: `DPoP ${boundToken}`,
        dpop: await proof('GET', `${resource}api/profile`, ath),
      },
    });
    print(
      `  GET ${resource}api/profile with DPoP and a proof \u2192 ${withProof.status} ${await withProof.text()}`,
    );
    expectThat('the resource accepts it with a proof by the key', withProof.status === 200);
    return stage.ok;
  } finally {
    await stage.close();
  }
}
