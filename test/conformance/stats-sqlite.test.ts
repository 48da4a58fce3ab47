import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { describeStatsConformance } from './stats-conformance.js';

const dir = tempDir();

describeStatsConformance('sqlite', async (clock) => createSqliteStore({ path: tempDbPath(dir), clock }));
