// Writes the schema of a fresh install to src/store/sqlite/schema.snapshot.sql (see schema-dump.ts).
import { writeFileSync } from 'node:fs';
import { dumpFreshSchema } from '../src/store/sqlite/schema-dump.js';

writeFileSync('src/store/sqlite/schema.snapshot.sql', dumpFreshSchema());
console.log('wrote src/store/sqlite/schema.snapshot.sql');
