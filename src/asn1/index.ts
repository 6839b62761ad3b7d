/** Our ASN.1 structures: GB/T 38540-2020 / GM/T 0031-2014 electronic seals and signatures. */
export * from './ses-seal';
export * from './ses-signature';
export type { SesTime, SesTimeKind } from './ses-der';
