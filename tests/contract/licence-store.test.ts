import { sqliteFixture } from '../helpers/stores';
import { licenceStoreContract } from './licence-store-contract';

describe('licence store contract: sqlite', () => {
  licenceStoreContract(sqliteFixture);
});
