import { sqliteFixture } from '../helpers/stores';
import { storeContract } from './store-contract';

describe('store contract: sqlite', () => {
  storeContract(sqliteFixture);
});
