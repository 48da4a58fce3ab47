import { type IncomingMessage, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSqliteStore, createWorker, defineTask } from '../../src/index.js';
import { createServer } from '../../src/server/server.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { closeAfter, type Json, quietLogger } from './server-helpers.js';

const dir = tempDir('stint-server-sse-');

const slow = defineTask({
  name: 'slow',
  input: z.object({ lines: z.number() }),
  run: async (ctx, { lines }) => {
    for (let i = 1; i <= lines; i++) {
      ctx.log.info(`line ${i}`);
      await new Promise((r) => setTimeout(r, 120));
    }
    return { lines };
  },
});

interface SseEvent {
  event: string;
  data: Json;
  id?: string;
  at: number;
}

/** A minimal EventSource over node:http (no pooled agent, so nothing outlives the test). */
function openStream(url: string, headers: Record<string, string> = {}) {
  const events: SseEvent[] = [];
  let res: IncomingMessage | undefined;
  let waiters: (() => void)[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    const req = request(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, (r) => {
      res = r;
      let buffer = '';
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((l) => !l.startsWith(':') && l.includes(': '))
              .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
          );
          if (fields.event) {
            events.push({
              event: fields.event,
              data: JSON.parse(fields.data ?? 'null'),
              id: fields.id,
              at: Date.now(),
            });
            for (const w of waiters) w();
            waiters = [];
          }
        }
      });
      r.on('end', resolve);
      r.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  return {
    events,
    ended,
    get status() {
      return res?.statusCode;
    },
    get contentType() {
      return res?.headers['content-type'];
    },
    async until(check: (events: SseEvent[]) => boolean, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check(events)) {
        if (Date.now() > deadline) throw new Error(`timed out; events so far: ${JSON.stringify(events)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
  };
}

async function start() {
  const store = closeAfter(createSqliteStore({ path: tempDbPath(dir) }));
  const server = closeAfter(createServer({ store, port: 0, auth: { mode: 'off' }, logger: false }));
  const url = await server.listen();
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const worker = closeAfter(
    createWorker({ store, tasks: [slow], concurrency: 2, logger: quietLogger, coordinator: false }),
  );
  return { store, server, url, worker };
}

describe('server-sent events', () => {
  it("follows a job's logs as they are written until it ends, and resumes from Last-Event-ID", async () => {
    const { url, server, worker } = await start();
    const submit = await server.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      payload: { task: 'slow', input: { lines: 5 } },
    });
    const { id } = submit.json();
    const changes = openStream(`${url}/api/v1/events`);
    const stream = openStream(`${url}/api/v1/jobs/${id}/logs/stream`);
    await worker.start();
    await stream.until((e) => e.some((x) => x.event === 'end'));
    await stream.ended;
    expect(stream.status).toBe(200);
    expect(stream.contentType).toContain('text/event-stream');
    const logs = stream.events.filter((e) => e.event === 'log');
    expect(logs.map((e) => e.data.message)).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
    expect(logs.map((e) => e.id)).toEqual(logs.map((e) => String(e.data.id)));
    expect(stream.events.at(-1)).toMatchObject({ event: 'end', data: { state: 'succeeded' } });
    // Followed, not read at the end: the first line arrived well before the last.
    expect((logs.at(-1)?.at ?? 0) - (logs[0]?.at ?? 0)).toBeGreaterThan(250);

    const resumed = openStream(`${url}/api/v1/jobs/${id}/logs/stream`, {
      'last-event-id': String(logs[2]?.id),
    });
    await resumed.ended;
    expect(resumed.events.map((e) => e.data.message ?? e.event)).toEqual(['line 4', 'line 5', 'end']);

    await changes.until((e) => e.some((x) => x.event === 'jobs-finished' && x.data.ids.includes(id)));
    const finished = changes.events.find((x) => x.event === 'jobs-finished');
    expect(finished?.data).toEqual({ type: 'jobs-finished', ids: [id] });
    await server.close();
    await changes.ended;
  });

  it('ends open streams and long-polls when the server closes', async () => {
    const { url, server, store } = await start();
    const submit = await server.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      payload: { task: 'slow', input: { lines: 1 } },
    });
    const { id } = submit.json();
    const logs = openStream(`${url}/api/v1/jobs/${id}/logs/stream`);
    const changes = openStream(`${url}/api/v1/events`);
    const poll = fetchJson(`${url}/api/v1/jobs/${id}/result?wait=60s`);
    await new Promise((r) => setTimeout(r, 200));
    expect(logs.status).toBe(200);
    const started = Date.now();
    await server.close();
    await Promise.all([logs.ended, changes.ended]);
    expect(await poll).toMatchObject({ status: 202, body: { state: 'pending' } });
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await store.getJob(id))?.state).toBe('pending');
  });
});

function fetchJson(url: string): Promise<{ status: number | undefined; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}
