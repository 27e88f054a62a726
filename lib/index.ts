// The public API: what a CDK app needs to use the NAT, and nothing of how it is built.
export { SelfHealingNatProvider } from './nat-instance-provider';
export type { SelfHealingNatProviderProps } from './nat-instance-provider';
export type { ISelfHealingNat } from './nat-instance';
export { NatInstanceStack } from './nat-instance-stack';
export type { NatInstanceStackProps } from './nat-instance-stack';
export { NatConfigError } from './validation';
