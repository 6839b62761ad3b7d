import type { AlgorithmName } from '../crypto/algorithms';
import type { ListOptions, Page } from '../store/ports';

export type SealStatus = 'active' | 'suspended' | 'revoked';
export const SEAL_KINDS = ['official', 'contract', 'finance', 'licence', 'invoice', 'personal-name'] as const;
export type SealKind = (typeof SEAL_KINDS)[number];

export interface SealRecord {
  id: string;
  agencyCode: string;
  name: string;
  kind: SealKind;
  algorithm: AlgorithmName;
  keyStore: 'software' | 'pkcs11';
  keyId: string;
  certificateSerial: string;
  status: SealStatus;
  /** Incremented by every status change: the compare-and-swap token (suspend/reinstate repeat). */
  generation: number;
  /** The generation whose event is in the transparency log (start-up repair closes the gap). */
  loggedGeneration: number;
  createdAt: string;
  updatedAt: string;
}

/** Seals of all agencies; list() filters by agency. Adapters in src/store/{sqlite,mongo}/seal-store.ts. */
export interface SealStore {
  create(seal: SealRecord): Promise<SealRecord>;
  get(id: string): Promise<SealRecord | null>;
  list(options?: ListOptions & { agencyCode?: string }): Promise<Page<SealRecord>>;
  /**
   * Compare-and-swap: moves the seal from (status, generation) to `next` with generation + 1.
   * STATE_CONFLICT when the seal is no longer in the expected state.
   */
  transition(id: string, expected: { status: SealStatus; generation: number }, next: SealStatus, at: string): Promise<SealRecord>;
  /** Records that the events up to `generation` are logged (monotonic; never lowers it). */
  markLogged(id: string, generation: number): Promise<void>;
  /** Seals whose latest change is not yet logged. */
  listUnlogged(): Promise<SealRecord[]>;
}
