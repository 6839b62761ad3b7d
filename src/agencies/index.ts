import { ConflictError, NotFoundError, ValidationError } from '../errors';
import { checkCreditCode, type CreditCodeProblem } from '../identifiers';
import type { Agency, AgencyStore, ListOptions, Page } from '../store/ports';

const PROBLEM_TEXT: Record<CreditCodeProblem, string> = {
  LENGTH: 'must be exactly 18 characters',
  CHARACTER: 'contains a character outside 0-9 and A-Y without I, O, S, V, Z (GB 32100)',
  REGION: 'characters 3-8 must be a 6-digit administrative region code',
  CHECK_DIGIT: 'the check character does not match (GB 32100 §4.2)',
};

export function assertCreditCode(code: string, pointer = '/code'): void {
  const problem = checkCreditCode(code);
  if (problem) {
    throw new ValidationError(`"${code}" is not a valid unified social credit code: ${PROBLEM_TEXT[problem]}`, [
      { pointer, detail: PROBLEM_TEXT[problem], code: `CREDIT_CODE_${problem}` },
    ], 'INVALID_CREDIT_CODE');
  }
}

export interface NewAgency {
  code: string;
  name: string;
  region?: string | null;
}

export class AgencyService {
  constructor(
    private readonly store: AgencyStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async create(input: NewAgency): Promise<Agency> {
    assertCreditCode(input.code);
    const agency: Agency = {
      code: input.code,
      name: input.name.trim(),
      region: input.region ?? null,
      createdAt: this.clock().toISOString(),
    };
    try {
      return await this.store.create(agency);
    } catch (e) {
      if (e instanceof ConflictError && e.code === 'DUPLICATE') {
        throw new ConflictError(`Agency ${input.code} is already registered`, 'DUPLICATE', { cause: e });
      }
      throw e;
    }
  }

  async get(code: string): Promise<Agency> {
    const a = await this.store.get(code);
    if (!a) throw new NotFoundError(`Agency ${code}`);
    return a;
  }

  async exists(code: string): Promise<boolean> {
    return (await this.store.get(code)) !== null;
  }

  list(options?: ListOptions): Promise<Page<Agency>> {
    return this.store.list(options);
  }
}
