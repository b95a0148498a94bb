/**
 * How every Lambda function is bundled, written once for its two triggers: `npm run build` bundles
 * the package's entries ahead of time (bin/build-package.ts), and RouteFunction bundles an entry at
 * synth when it runs from the TypeScript sources; the benchmark (bench/cold-start.ts) measures the
 * same bundles. An ES module for Node.js 22, minified, with an external source map and the AWS SDK
 * inside.
 *
 * esbuild is a development dependency: it is loaded only when a bundle is made, so the installed
 * package, which ships its bundles prebuilt, imports this module without it.
 */
import { createRequire } from 'node:module';
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Esbuild from 'esbuild';
import { XaaConfigError } from './config-error.js';

/** The bundle's file name in its directory: the function's handler is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';

/** `lambda/` beside this module's folder: the repository's from the sources, `dist/lambda/` in the package. */
export const LAMBDA_ROOT = fileURLToPath(new URL('../lambda/', import.meta.url));

function options(entry: string, outdir: string) {
  return {
    entryPoints: [entry],
    outfile: join(outdir, BUNDLE_FILE),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    // No `external`: the AWS SDK is bundled instead of taken from the runtime, so the version we
    // test is the one that runs, and esbuild keeps only the clients and commands a route imports.
    // Some dependencies (the X-Ray SDK under the Powertools Tracer) still call require().
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'error',
  } satisfies Esbuild.BuildOptions;
}

function esbuild(entry: string): typeof Esbuild {
  try {
    return createRequire(import.meta.url)('esbuild') as typeof Esbuild;
  } catch (err) {
    throw new XaaConfigError(
      'entry',
      `cannot bundle ${entry}: esbuild is not installed (the package ships its functions prebuilt; ` +
        'from the repository, run `npm ci`)',
      { cause: err },
    );
  }
}

/** Bundles `entry` into `outdir`/index.mjs and returns that path (synchronous, for CDK's local bundling). */
export function bundleLambda(entry: string, outdir: string): string {
  const opts = options(entry, outdir);
  esbuild(entry).buildSync(opts);
  return opts.outfile;
}

/** The same bundle, made without blocking the event loop (several run side by side). */
export async function bundleLambdaAsync(entry: string, outdir: string): Promise<string> {
  const opts = options(entry, outdir);
  await esbuild(entry).build(opts);
  return opts.outfile;
}

/**
 * Where the bundle of `entry` (a module under `lambdaRoot`) lives under `bundlesRoot`: its path
 * without `.ts`, e.g. `functions/token/`. Undefined for an entry outside `lambdaRoot`.
 */
export function bundleDirOf(
  entry: string,
  bundlesRoot: string,
  lambdaRoot: string = LAMBDA_ROOT,
): string | undefined {
  const rel = relative(lambdaRoot, entry);
  if (rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return join(bundlesRoot, rel.replace(/\.[cm]?[jt]s$/, ''));
}
