/**
 * The layout of docs/architecture.md ("Folders") is held by the lint: each folder's forbidden
 * imports fail, however the path is written, and its allowed ones pass.
 */
import { ESLint } from 'eslint';

const eslint = new ESLint();

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test.each([
  ['lambda/oauth/x.ts', "import '../aws/kms-signer.js';"],
  ['lambda/oauth/x.ts', "import '../../lambda/aws/kms-signer.js';"],
  ['lambda/oauth/x.ts', "import '../../lambda/functions/token.js';"],
  ['lambda/oauth/x.ts', "import '../once.js';"],
  ['lambda/oauth/x.ts', "import '../../local/server.js';"],
  ['lambda/oauth/x.ts', "import '@aws-sdk/client-kms';"],
  ['lambda/cdk-shared/x.ts', "import '../ports.js';"],
  ['lambda/cdk-shared/x.ts', "import 'jose';"],
  ['lambda/handlers/x.ts', "import '../aws/kms-signer.js';"],
  ['lambda/aws/x.ts', "import '../functions/token.js';"],
  ['local/x.ts', "import '../lambda/functions/token.js';"],
  ['local/x.ts', "import '../lib/index.js';"],
  ['lib/x.ts', "import '../lambda/aws/kms-signer.js';"],
  ['lib/x.ts', "import '../local/server.js';"],
  ['bin/x.ts', "import '../test/support/harness.js';"],
])('%s may not: %s', async (file, code) => {
  expect(await problems(file, code)).toEqual([expect.stringContaining('docs/architecture.md')]);
});

test.each([
  ['lambda/oauth/x.ts', "import '../ports.js';\nimport '../config.js';\nimport './errors.js';"],
  ['lambda/cdk-shared/x.ts', "import '../config.js';\nimport 'zod';"],
  ['lambda/aws/x.ts', "import '../oauth/errors.js';\nimport '../cdk-shared/tables.js';"],
  ['local/x.ts', "import '../lambda/oauth/errors.js';\nimport '../lambda/aws/kms-signer.js';"],
  ['lib/x.ts', "import '../lambda/cdk-shared/tables.js';\nimport '../lambda/config.js';"],
  ['bin/x.ts', "import '../local/server.js';\nimport '../lib/index.js';"],
])('%s may: %s', async (file, code) => {
  expect(await problems(file, code)).toEqual([]);
});
