/**
 * The CDK app (cdk.json "app"): `-c config=NAME` picks config/NAME.json (default: playground) and
 * deploys it as the stack XaaAuthServer-NAME. Settings live in that file, never on the command
 * line, so every deploy of an environment sees the same configuration.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext } from '../lib/app-context.js';
import { XaaConfigError } from '../lib/server-props.js';
import { XaaAuthServerStack, stackNameFor } from '../lib/xaa-auth-server-stack.js';

const app = new App();
try {
  const environment = configFromContext(app.node);
  new XaaAuthServerStack(app, stackNameFor(environment.name), { environment });
} catch (err) {
  // A configuration mistake is the operator's to fix: the message names the file and the key,
  // and a stack trace into lib/ would only bury it.
  if (!(err instanceof XaaConfigError)) throw err;
  process.stderr.write(`Configuration error: ${err.message}\n`);
  process.exit(1);
}
// Every synth is checked: an unacknowledged AwsSolutions finding stops it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
