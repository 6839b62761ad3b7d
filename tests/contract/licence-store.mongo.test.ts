import { mongoFixture } from '../helpers/stores';
import { licenceStoreContract } from './licence-store-contract';

// Left out by jest.config.js unless MONGODB_URI is set (CI starts FerretDB), as store.mongo.test.ts.
const uri = process.env.MONGODB_URI;
if (!uri) throw new Error('MONGODB_URI is not set but ESEAL_TEST_REQUIRE includes mongo');

describe('licence store contract: mongo', () => {
  licenceStoreContract(mongoFixture(uri));
});
