import { describe, expect, it } from 'vitest';
import { createFakeClock, type FakeClock } from '../../src/core/clock.js';
import { createPostgresStore } from '../../src/store/postgres/store.js';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/types.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { closeAfter, type Json, setup } from './server-helpers.js';

const dir = tempDir('stint-server-list-');
const pg = await pgAvailable();
const T = Date.UTC(2026, 10, 23, 12);

const stores: { kind: string; make: (clock: FakeClock) => Store }[] = [
  { kind: 'sqlite', make: (clock) => createSqliteStore({ path: tempDbPath(dir), clock }) },
  ...(pg
    ? [
        {
          kind: 'postgres',
          make: (clock: FakeClock) =>
            createPostgresStore({
              connectionString: PG_URL,
              schema: freshSchema('stint_server_list'),
              clock,
              maxConnections: 2,
            }),
        },
      ]
    : []),
];

describe.each(stores)('GET /api/v1/jobs time range and search, $kind', ({ make }) => {
  it('filters by createdAfter/createdBefore (ms or ISO) and search, and rejects bad values by name', async () => {
    const clock = createFakeClock(T);
    const { req } = await setup({ store: closeAfter(make(clock)) });
    const submit = async (customer: string) => {
      const res = await req('POST', '/api/v1/jobs', { task: 't', options: { metadata: { customer } } });
      expect(res.status).toBe(201);
      clock.advance(60 * 60_000);
      return res.body.id as string;
    };
    const a = await submit('Acme');
    const b = await submit('Globex');
    const c = await submit('acme-eu');
    const ids = async (query: string) => {
      const res = await req('GET', `/api/v1/jobs?${query}`);
      expect(res.status).toBe(200);
      return res.body.jobs.map((j: Json) => j.id);
    };
    expect(await ids(`createdAfter=${T + 3_600_000}`)).toEqual([c, b]);
    expect(await ids(`createdBefore=${T + 3_600_000}`)).toEqual([a]);
    expect(await ids('createdAfter=2026-11-23T12:30:00Z&createdBefore=2026-11-23T14:00:00.000Z')).toEqual([
      b,
    ]);
    expect(await ids('search=ACME')).toEqual([c, a]);
    expect(await ids(`search=acme&createdAfter=${T + 1}`)).toEqual([c]);
    expect(await ids('search=50%25')).toEqual([]);

    const bad = await req('GET', '/api/v1/jobs?createdAfter=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION');
    expect(JSON.stringify(bad.body.error.details)).toMatch(/createdAfter/);
    const reversed = await req('GET', `/api/v1/jobs?createdAfter=${T + 10}&createdBefore=${T}`);
    expect(reversed.status).toBe(400);
    expect(reversed.body.error.message).toMatch(/createdAfter must be earlier than createdBefore/);
    const long = await req('GET', `/api/v1/jobs?search=${'x'.repeat(201)}`);
    expect(long.status).toBe(400);
    expect(JSON.stringify(long.body.error.details)).toMatch(/search/);
  });
});

describe('OpenAPI', () => {
  it('documents the list filters', async () => {
    const { req } = await setup();
    const doc = (await req('GET', '/openapi.json')).body;
    const names = doc.paths['/api/v1/jobs'].get.parameters.map((p: Json) => p.name);
    expect(names).toEqual(expect.arrayContaining(['createdAfter', 'createdBefore', 'search']));
  });
});
