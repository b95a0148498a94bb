/**
 * A resource ARN as cdk-nag names it in a finding id (`IAM5[Resource::…]`): references written
 * `<Name>` or `<Logical.Attribute>`, joins flattened. Acknowledgements built from the same ARN the
 * policy holds match whether the stack's `env` is pinned (literal region and account) or not
 * (`<AWS::Region>`), where a hand-written id matches only one of the two.
 */
import type { Stack } from 'aws-cdk-lib';

export function nagResource(stack: Stack, arn: string): string {
  return flatten(stack.resolve(arn));
}

function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const o = node as Record<string, unknown>;
  if (Array.isArray(o['Fn::Join'])) {
    const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (o['Fn::Sub'] !== undefined) return flatten(o['Fn::Sub']);
  if (Array.isArray(o['Fn::GetAtt'])) {
    const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (o['Fn::ImportValue'] !== undefined) return flatten(o['Fn::ImportValue']);
  if (o.Ref !== undefined) return `<${flatten(o.Ref)}>`;
  return JSON.stringify(node);
}
