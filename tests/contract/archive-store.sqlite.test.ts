import { sqliteFixture } from '../helpers/stores';
import { archiveStoreContract } from './archive-store-contract';

describe('archive store contract: sqlite', () => {
  archiveStoreContract(sqliteFixture);
});
