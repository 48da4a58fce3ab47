import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/index.js';
import { createServer } from '../../src/server/server.js';
import { findUiDir } from '../../src/server/ui.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { closeAfter } from './server-helpers.js';

const dir = tempDir('stint-ui-');

/** A stand-in for a UI build: an index page and one hashed asset big enough to be compressed. */
function fakeBuild(): string {
  const ui = join(dir, `ui-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(ui, 'assets'), { recursive: true });
  writeFileSync(
    join(ui, 'index.html'),
    '<!doctype html><div id="root"></div><script src="/ui/assets/app-1a2b.js"></script>',
  );
  writeFileSync(join(ui, 'assets', 'app-1a2b.js'), `console.log(${JSON.stringify('x'.repeat(5000))});`);
  return ui;
}

function serve(ui: boolean | { dir: string }) {
  const store = closeAfter(createSqliteStore({ path: tempDbPath(dir) }));
  return closeAfter(
    createServer({
      store,
      auth: { mode: 'on', authenticate: async () => null },
      logger: false,
      ui,
    }),
  );
}

describe('web UI files', () => {
  it('redirects / to the UI and answers every page of the app with its index, without auth', async () => {
    const { app } = serve({ dir: fakeBuild() });
    const root = await app.inject({ method: 'GET', url: '/' });
    expect(root.statusCode).toBe(302);
    expect(root.headers.location).toBe('/ui/');
    for (const url of ['/ui/', '/ui/jobs', '/ui/jobs/42', '/ui/schedules/nightly%20report/edit']) {
      const page = await app.inject({ method: 'GET', url });
      expect(page.statusCode, url).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
      expect(page.body).toContain('<div id="root">');
    }
  });

  it('serves hashed assets for a year, gzipped when asked, and 404s a missing one', async () => {
    const { app } = serve({ dir: fakeBuild() });
    const plain = await app.inject({ method: 'GET', url: '/ui/assets/app-1a2b.js' });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toContain('immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    const zipped = await app.inject({
      method: 'GET',
      url: '/ui/assets/app-1a2b.js',
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.rawPayload).toString()).toBe(plain.body);
    const missing = await app.inject({ method: 'GET', url: '/ui/assets/app-old.js' });
    expect(missing.statusCode).toBe(404);
  });

  it('never serves a file outside the build', async () => {
    const { app } = serve({ dir: fakeBuild() });
    for (const url of [
      '/ui/../package.json',
      '/ui/%2e%2e/%2e%2e/package.json',
      '/ui/assets/../../index.html',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.body, url).not.toContain('"name"');
    }
  });

  it('says how to build the UI when there is no build, and can be turned off', async () => {
    const missing = serve({ dir: join(dir, 'no-such-build') });
    const page = await missing.app.inject({ method: 'GET', url: '/ui/jobs' });
    expect(page.statusCode).toBe(404);
    expect(page.body).toContain('npm run build');
    const off = serve(false);
    expect((await off.app.inject({ method: 'GET', url: '/ui/' })).statusCode).toBe(404);
    expect((await off.app.inject({ method: 'GET', url: '/' })).json().error.code).toBe('NOT_FOUND');
  });

  it('finds the build that npm install made', () => {
    const found = findUiDir();
    expect(found, 'dist/ui is missing: run npm run build').not.toBeNull();
  });
});
