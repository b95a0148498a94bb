/** `npm run mcp-server`'s banner says where it listens, not only the resource it serves. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

test('with MCP_RESOURCE naming a public URL, the banner still shows the loopback address it listens on', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/mcp-server/main.ts'], {
    env: { ...process.env, MCP_PORT: '0', MCP_RESOURCE: 'https://mcp.example.com/mcp' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let gone = false;
  const exited = once(child, 'close').then(() => (gone = true));
  try {
    while (!out.includes('npm run admin -- clients add') && !gone)
      await Promise.race([once(child.stdout, 'data'), exited]);
    const listening = /\n {2}listening on +(http:\/\/127\.0\.0\.1:\d+)\n/.exec(out)?.[1];
    expect(listening).toBeDefined();
    expect(out).toContain('https://mcp.example.com/mcp');
    // It is where the server answers.
    const res = await fetch(`${listening}/.well-known/oauth-protected-resource/mcp`);
    expect(res.status).toBe(200);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}, 30_000);
