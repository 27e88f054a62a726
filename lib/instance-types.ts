import { NatConfigError } from './validation';

/** The CPU architectures Amazon Linux 2023 images are published for. */
export type NatArchitecture = 'arm64' | 'x86_64';

interface FamilyInfo {
  readonly architecture: NatArchitecture;
  readonly sizes: readonly string[];
  /** Burstable: earns CPU credits, and has a credit mode (standard or unlimited). */
  readonly burstable?: boolean;
}

const BURSTABLE = ['nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'];
const GRAVITON = ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'];
const INTEL = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'];

/**
 * The instance families a NAT instance may use: current burstable, compute and general-purpose
 * families with ENA networking, whose sizes exist as listed. Network-optimised `n` families are
 * there for NATs that carry a lot of traffic.
 */
export const SUPPORTED_INSTANCE_FAMILIES: Readonly<Record<string, FamilyInfo>> = {
  t4g: { architecture: 'arm64', sizes: BURSTABLE, burstable: true },
  c6g: { architecture: 'arm64', sizes: GRAVITON },
  c6gn: { architecture: 'arm64', sizes: GRAVITON },
  c7g: { architecture: 'arm64', sizes: GRAVITON },
  c7gn: { architecture: 'arm64', sizes: GRAVITON },
  m6g: { architecture: 'arm64', sizes: GRAVITON },
  m7g: { architecture: 'arm64', sizes: GRAVITON },
  t3: { architecture: 'x86_64', sizes: BURSTABLE, burstable: true },
  t3a: { architecture: 'x86_64', sizes: BURSTABLE, burstable: true },
  c5n: { architecture: 'x86_64', sizes: ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '18xlarge'] },
  c6i: { architecture: 'x86_64', sizes: INTEL },
  c6in: { architecture: 'x86_64', sizes: INTEL },
  c7i: { architecture: 'x86_64', sizes: INTEL },
  m6i: { architecture: 'x86_64', sizes: INTEL },
  m7i: { architecture: 'x86_64', sizes: INTEL },
};

/** A supported instance type and the architecture its image must have. */
export interface InstanceTypeInfo {
  readonly name: string;
  readonly family: string;
  readonly size: string;
  readonly architecture: NatArchitecture;
  readonly burstable: boolean;
}

/** Looks an instance type up in {@link SUPPORTED_INSTANCE_FAMILIES}, or explains what is accepted. */
export function parseInstanceType(option: string, value: unknown): InstanceTypeInfo {
  const families = Object.keys(SUPPORTED_INSTANCE_FAMILIES);
  const match = typeof value === 'string' ? /^([a-z0-9]+)\.([a-z0-9]+)$/.exec(value) : null;
  if (!match) {
    throw new NatConfigError(option, value, `an instance type FAMILY.SIZE such as t4g.nano, with a family from ${families.join(', ')}`);
  }
  const [, family, size] = match;
  const info = SUPPORTED_INSTANCE_FAMILIES[family];
  if (!info) {
    throw new NatConfigError(option, value, `an instance type from a supported family: ${families.join(', ')}`);
  }
  if (!info.sizes.includes(size)) {
    throw new NatConfigError(option, value, `a size that ${family} has: ${info.sizes.join(', ')}`);
  }
  return { name: value as string, family, size, architecture: info.architecture, burstable: info.burstable ?? false };
}
