import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { describeScheduleBehaviour } from './schedule-behaviour.js';

const dir = tempDir();

describeScheduleBehaviour('sqlite', async (clock) => createSqliteStore({ path: tempDbPath(dir), clock }));
