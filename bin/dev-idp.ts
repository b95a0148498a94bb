/**
 * `npm run dev-idp`: a development IdP on loopback that signs ID-JAGs for anyone. Local use only.
 * DEV_IDP_PORT picks its port (default 4000); its signing key lives in DATA_DIR/dev-idp/.
 */
import { join } from 'node:path';
import { DevIdp } from '../local/dev-idp.js';
import { KeyFileSigner } from '../lambda/key-file-signer.js';

async function main(): Promise<void> {
  // A development tool, not the server: its two settings are read here rather than in lambda/config.ts.
  const port = Number(process.env.DEV_IDP_PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error('DEV_IDP_PORT must be a port number');
  const dataDir = process.env.DATA_DIR?.trim() || '.local';
  const issuer = `http://localhost:${port}`;
  const key = await KeyFileSigner.open(join(dataDir, 'dev-idp', 'signing-key.pem'));
  const idp = new DevIdp(issuer, key);
  await idp.listen(port);
  console.log(
    [
      '',
      `Development IdP on ${issuer} - FOR LOCAL USE ONLY: it signs an ID-JAG for anyone who asks.`,
      '',
      `  jwks      ${idp.jwksUri}`,
      `  mint      curl -s -X POST ${issuer}/id-jag -d audience=http://localhost:3000 -d client_id=my-client -d scope="read write" -d resource=https://api.example.com/`,
      '  bound     add -d jkt=<RFC 7638 thumbprint of your DPoP key>: the ID-JAG carries cnf.jkt, and',
      '            only a token request with a DPoP proof by that key can redeem it',
      '',
      '  trust it from the local server:',
      `    TRUSTED_ISSUERS='[{"issuer":"${issuer}","jwks_uri":"${idp.jwksUri}"}]' npm start`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error('The development IdP could not start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
