/** `npm run mcp-server`: the example MCP server, protected by the local authorization server. */
import { startMcpServer } from './server.js';

async function main(): Promise<void> {
  // An example, not the server: its settings are read here rather than in lambda/config.ts.
  const port = Number(process.env.MCP_PORT ?? 3001);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error('MCP_PORT must be a port number');
  const issuer = process.env.AS_ISSUER?.trim() || 'http://localhost:3000';
  const running = await startMcpServer({
    port,
    issuer,
    resource: process.env.MCP_RESOURCE?.trim() || undefined,
    jwksUri: process.env.AS_JWKS_URI?.trim() || undefined,
    endpointPath: process.env.MCP_PATH?.trim() || undefined,
    onError: (err) => console.error('MCP request failed:', err.message),
  });
  const { resource } = running;
  console.log(
    [
      '',
      `Example MCP server on ${running.url} (Streamable HTTP)`,
      '',
      `  listening on          http://127.0.0.1:${(running.server.address() as { port: number }).port}`,
      `  resource (aud)        ${resource.resource}`,
      `  resource metadata     ${resource.metadataUrl}`,
      `  authorization server  ${issuer}`,
      '  tools                 whoami (scope read), add_note (scope write)',
      '',
      '  register a client for it (with `npm start` running):',
      `    npm run admin -- clients add --client-id mcp-agent --scope "read write" --resource ${resource.resource}`,
      '',
    ].join('\n'),
  );
  const stop = () => {
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error('The MCP server could not start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
