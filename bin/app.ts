/** The CDK app (cdk.json "app"): one stack, configured through CDK context (lib/stack-config.ts). */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackConfigFromContext } from '../lib/stack-config.js';
import { XaaAuthServerStack } from '../lib/xaa-auth-server-stack.js';

const app = new App();
const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'XaaAuthServer';
new XaaAuthServerStack(app, stackName, {
  config: stackConfigFromContext(app.node),
  description: 'Cross App Access authorization server (ID-JAG to RFC 9068 access tokens)',
});
// Every synth is checked: an unacknowledged AwsSolutions finding stops it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
