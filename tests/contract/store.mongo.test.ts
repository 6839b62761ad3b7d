import { mongoFixture } from '../helpers/stores';
import { storeContract } from './store-contract';

// jest.config.js leaves this file out when MONGODB_URI is unset (unless CI requires it, in
// which case the missing URI fails the run here).
const uri = process.env.MONGODB_URI;
if (!uri) throw new Error('MONGODB_URI is not set but ESEAL_TEST_REQUIRE includes mongo');

describe('store contract: mongo', () => {
  storeContract(mongoFixture(uri));
});
