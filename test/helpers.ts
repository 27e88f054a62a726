import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { SelfHealingNatProvider, SelfHealingNatProviderProps, NatInstanceStack, NatInstanceStackProps } from '../lib';

/** The stack of the app with the given props, under a fixed name. */
export function natStack(props: NatInstanceStackProps = {}): NatInstanceStack {
  return new NatInstanceStack(new App(), 'TestNat', props);
}

export function natTemplate(props: NatInstanceStackProps = {}): Template {
  return Template.fromStack(natStack(props));
}

/** A plain ec2.Vpc in a user's own stack, with the provider as its NAT. */
export function vpcWithProvider(providerProps: SelfHealingNatProviderProps = {}, vpcProps: Partial<ec2.VpcProps> = {}) {
  const stack = new Stack(new App(), 'UserStack');
  const provider = new SelfHealingNatProvider(providerProps);
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGatewayProvider: provider, ...vpcProps });
  return { stack, provider, vpc, template: Template.fromStack(stack) };
}

/** Logical IDs of the template's resources of one type, in template order. */
export function logicalIds(template: Template, type: string): string[] {
  return Object.keys(template.findResources(type));
}

/** Renders an intrinsic the way a reader would name it: {Ref: X} as ${X}, GetAtt as ${X.Attr}. */
function renderPart(part: unknown): string {
  if (typeof part === 'string') {
    return part;
  }
  const obj = part as Record<string, unknown>;
  if ('Ref' in obj) {
    return `\${${obj.Ref as string}}`;
  }
  if ('Fn::GetAtt' in obj) {
    return `\${${(obj['Fn::GetAtt'] as string[]).join('.')}}`;
  }
  if ('Fn::Sub' in obj && typeof obj['Fn::Sub'] === 'string') {
    return obj['Fn::Sub'];
  }
  throw new Error(`unexpected intrinsic in user data: ${JSON.stringify(part)}`);
}

/** The user data script of each launch template, with references rendered as ${LogicalId}. */
export function userDataScripts(template: Template): string[] {
  return Object.values(template.findResources('AWS::EC2::LaunchTemplate')).map((lt) => {
    const base64 = lt.Properties.LaunchTemplateData.UserData['Fn::Base64'];
    if (typeof base64 === 'string') {
      return base64;
    }
    const [separator, parts] = base64['Fn::Join'] as [string, unknown[]];
    return parts.map(renderPart).join(separator);
  });
}

/** The files that a user data script writes with `base64 -d <<'END' | gunzip > PATH`. */
export function embeddedFiles(script: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  const pattern = /^base64 -d <<'(\w+)' \| gunzip > (\S+)\n([\s\S]*?)\n\1$/gm;
  for (const match of script.matchAll(pattern)) {
    files[match[2]] = zlib.gunzipSync(Buffer.from(match[3].replace(/\n/g, ''), 'base64'));
  }
  return files;
}

/** The app's context from cdk.json (feature flags included), with test values on top. */
export function appContext(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'));
  return { ...cdkJson.context, ...extra };
}
