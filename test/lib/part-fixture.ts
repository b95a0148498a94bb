/**
 * A bare stack to test one construct of the stack on its own (published JWKS, observability, edge
 * protection): bundling off, cdk-nag AwsSolutions on, and route functions like the stack's.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RouteFunction } from '../../lib/route-function.js';

export interface NagReport {
  readonly conclusion: string;
  readonly violations: unknown[];
  /** "rule @ construct path", sorted. */
  readonly acknowledged: string[];
  readonly reasons: string[];
}

/** cdk-nag's AwsSolutions entry in the validation report a synth writes to `outdir`. */
export interface AwsSolutionsReport {
  readonly conclusion: string;
  readonly violations: unknown[];
  readonly suppressedViolations: Array<{
    ruleName: string;
    reason: string;
    violatingConstructs: Array<{ constructPath: string }>;
  }>;
}

export function awsSolutionsReport(outdir: string): AwsSolutionsReport {
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: Array<AwsSolutionsReport & { pluginName: string }>;
  };
  const nag = report.pluginReports.find((p) => p.pluginName === 'AwsSolutions');
  if (!nag) throw new Error('the validation report has no AwsSolutions entry');
  return nag;
}

export function partStack(props: StackProps = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'xaa-part-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Part', props);
  const standIns: string[] = [];
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return {
    app,
    stack,
    /** A function like the stack's route functions (which acknowledge their own nag findings). */
    routeFunction(id: string, environment: Record<string, string> = {}) {
      standIns.push(`${stack.node.path}/${id}/`);
      return new RouteFunction(stack, id, {
        entry: fileURLToPath(new URL('../../lambda/functions/discovery.ts', import.meta.url)),
        description: id,
        environment: { ISSUER: 'https://as.example.com', ...environment },
        logRetention: RetentionDays.ONE_MONTH,
      });
    },
    /** Synthesizes (running every validation) and returns the template and the nag report. */
    synth(): { template: Template; nag: NagReport } {
      try {
        app.synth();
        const nag = awsSolutionsReport(outdir);
        // The stand-ins' own findings belong to RouteFunction's test, not to the part's.
        const ofPart = (path: string) => !standIns.some((s) => path.startsWith(s));
        const suppressed = nag.suppressedViolations
          .map((v) => ({
            ...v,
            violatingConstructs: v.violatingConstructs.filter((c) => ofPart(c.constructPath)),
          }))
          .filter((v) => v.violatingConstructs.length > 0);
        return {
          template: Template.fromStack(stack),
          nag: {
            conclusion: nag.conclusion,
            violations: nag.violations,
            acknowledged: suppressed
              .flatMap((v) =>
                v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath}`),
              )
              .sort(),
            reasons: suppressed.map((v) => v.reason),
          },
        };
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    },
  };
}

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** The resources of one type, by logical id. */
export function resourcesOf(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type)) as Array<[string, Resource]>;
}

/** Every statement of the policies attached to the role with this logical id. */
export function statementsOfRole(
  template: Template,
  roleId: string,
): Array<{ Effect: string; Action: string | string[]; Resource: unknown }> {
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap(
      ([, p]) =>
        (
          p.Properties!.PolicyDocument as {
            Statement: Array<{ Effect: string; Action: string | string[]; Resource: unknown }>;
          }
        ).Statement,
    );
}
