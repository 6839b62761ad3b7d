/** GB/T 38540 electronic seals and signatures: making (make.ts) and verifying (verify.ts). */
export * from './make';
export * from './verify';
