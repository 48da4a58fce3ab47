import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { takeScreenshots } from '../../scripts/screenshots.js';
import { tempDir } from '../helpers.js';

// The same code as `npm run screenshots`, into a temp directory: every page must render in both
// themes without console errors (each page waits for its own data before the shot).
describe('screenshots', () => {
  it('renders every page in the light and dark themes', { timeout: 240_000 }, async () => {
    const dir = tempDir('stint-ui-shots-');
    const files = await takeScreenshots(dir);
    const names = files.map((f) => f.slice(dir.length + 1));
    for (const theme of ['light', 'dark'])
      for (const page of [
        'login',
        'overview',
        'jobs',
        'job',
        'job-failed',
        'flow',
        'flows',
        'schedules',
        'schedule',
        'schedule-form',
        'datasets',
        'workers',
        'overview-phone',
        'jobs-phone',
      ])
        expect(names).toContain(`${page}-${theme}.png`);
    for (const file of files) expect(statSync(file).size, file).toBeGreaterThan(5000);
  });
});
