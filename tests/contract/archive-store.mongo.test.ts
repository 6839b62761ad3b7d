import { mongoFixture } from '../helpers/stores';
import { archiveStoreContract } from './archive-store-contract';

// jest.config.js leaves this file out when MONGODB_URI is unset (unless CI requires mongo).
const uri = process.env.MONGODB_URI;
if (!uri) throw new Error('MONGODB_URI is not set but ESEAL_TEST_REQUIRE includes mongo');

describe('archive store contract: mongo', () => {
  archiveStoreContract(mongoFixture(uri));
});
