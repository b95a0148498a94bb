/**
 * `npm run build`, which `npm pack` runs first (prepack): the package in dist/.
 *
 *   dist/lib/, dist/lambda/  lib/ and the lambda/ modules it imports at synth, as JavaScript with
 *                            type declarations (tsconfig.build.json);
 *   dist/bundles/<entry>/    each Lambda entry a construct deploys, bundled by lib/lambda-bundle.ts:
 *                            where RouteFunction looks before it would bundle from the sources.
 */
import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAMBDA_ROOT, bundleDirOf, bundleLambdaAsync } from '../lib/lambda-bundle.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

/** Every entry lib/ hands to a RouteFunction (McpServerResource's is the caller's own). */
const PACKAGED_ENTRIES: readonly string[] = [
  ...readdirSync(join(LAMBDA_ROOT, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(LAMBDA_ROOT, 'functions', f)),
  join(LAMBDA_ROOT, 'example-resources/sample/lambda.ts'),
];

function tsc(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
      { stdio: 'inherit' },
    );
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`tsc -p tsconfig.build.json exited ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  // A file left from an older build (a module since removed) must not ship.
  rmSync(dist, { recursive: true, force: true });
  // The type check dominates; the bundles are made meanwhile.
  await Promise.all([
    tsc(),
    ...PACKAGED_ENTRIES.map((entry) =>
      bundleLambdaAsync(entry, bundleDirOf(entry, join(dist, 'bundles'))!),
    ),
  ]);
}

await main();
