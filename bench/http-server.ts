/**
 * (4) The local server over HTTP: the real `npm start` process, driven by autocannon at
 * concurrency 16 with unique ID-JAGs minted before the run.
 */
import { spawn } from 'node:child_process';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { runAdmin } from '../bin/admin.js';
import { JWT_BEARER_GRANT } from '../lambda/oauth/token-request.js';

export interface HttpFigures {
  readonly requests: number;
  readonly tokensPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly peakRssMb: number;
  /** CPU seconds the server process used per wall second of the run. */
  readonly cores: number;
}

const root = fileURLToPath(new URL('..', import.meta.url));

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** utime + stime of a process, in seconds (Linux /proc). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

export async function httpRun(requests: number, connections = 16): Promise<HttpFigures> {
  const dataDir = await mkdtemp(join(tmpdir(), 'xaa-bench-http-'));
  const idp = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(idp.publicKey)), alg: 'RS256', use: 'sig' };
  const kid = await calculateJwkThumbprint(jwk);
  const idpServer = createServer((_req, res) =>
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ keys: [{ ...jwk, kid }] })),
  );
  idpServer.listen(0, '127.0.0.1');
  await once(idpServer, 'listening');
  const idpUrl = `http://127.0.0.1:${(idpServer.address() as { port: number }).port}`;
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const env = {
    DATA_DIR: dataDir,
    PORT: String(port),
    TRUSTED_ISSUERS: JSON.stringify([{ issuer: idpUrl, jwks_uri: `${idpUrl}/jwks` }]),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const out: string[] = [];
  await runAdmin(
    [
      'clients',
      'add',
      '--client-id',
      'bench',
      '--scope',
      'read',
      '--resource',
      'https://api.example.com/',
      '--json',
    ],
    env,
    (l) => out.push(l),
  );
  const { client_secret: secret } = JSON.parse(out[0]!) as { client_secret: string };

  const now = Math.floor(Date.now() / 1000);
  const bodies = await Promise.all(
    Array.from({ length: requests }, async (_, i) => {
      const jag = await new SignJWT({
        iss: idpUrl,
        sub: 'alice@example.com',
        aud: issuer,
        client_id: 'bench',
        jti: `http-${i}`,
        iat: now,
        exp: now + 300,
        scope: 'read',
      })
        .setProtectedHeader({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid })
        .sign(idp.privateKey);
      return new URLSearchParams({
        grant_type: JWT_BEARER_GRANT,
        assertion: jag,
        client_id: 'bench',
        client_secret: secret,
      }).toString();
    }),
  );

  const server = spawn(process.execPath, ['--import', 'tsx', join(root, 'bin/local.ts')], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    for (let i = 0; ; i++) {
      try {
        await fetch(`${issuer}/.well-known/openid-configuration`);
        break;
      } catch {
        if (i > 200) throw new Error('the local server did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // One request first, so the issuer's JWKS and every code path are warm before the clock starts.
    let next = 0;
    await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: bodies[next++],
    });
    const cpu0 = await cpuSeconds(server.pid!);
    const t0 = performance.now();
    const result = await autocannon({
      url: issuer,
      connections,
      amount: requests - 1,
      requests: [
        {
          method: 'POST',
          path: '/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          setupRequest: (req) => ({ ...req, body: bodies[next++] ?? '' }),
        },
      ],
    });
    const seconds = (performance.now() - t0) / 1000;
    const cores = ((await cpuSeconds(server.pid!)) - cpu0) / seconds;
    return {
      requests: result.requests.total,
      tokensPerSecond: (result.requests.total - result.non2xx) / seconds,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      peakRssMb: await peakRssMb(server.pid!),
      cores,
    };
  } finally {
    server.kill('SIGTERM');
    await once(server, 'close');
    idpServer.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
