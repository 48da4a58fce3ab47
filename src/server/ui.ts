import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where the web UI is served; its own routes (/ui/jobs/42) all answer with its index.html. */
export const UI_PREFIX = '/ui';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/**
 * The UI's pages may load only what the server itself sends: no CDN, no inline scripts. Inline
 * styles are allowed because the flow graph positions its nodes with them.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  /** Vite's hashed file names never change content: cached for a year. */
  immutable: boolean;
}

/** The built UI (dist/ui), from the compiled server (dist/src/server) or from its source (src/server). */
export function findUiDir(): string | null {
  for (const candidate of ['../../ui/', '../../dist/ui/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return null;
}

function walk(dir: string, root: string, into: Map<string, Asset>): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      walk(path, root, into);
      continue;
    }
    const rel = relative(root, path).split(sep).join('/');
    const body = readFileSync(path);
    const type = TYPES[extname(name)] ?? 'application/octet-stream';
    const compressible = type.startsWith('text/') || type.includes('json') || type.includes('svg');
    into.set(rel, {
      body,
      gzip: compressible && body.length > 1024 ? gzipSync(body) : null,
      type,
      immutable: rel.startsWith('assets/'),
    });
  }
}

/** Reads the whole built UI into memory once: only files that exist there can ever be served. */
export function loadUi(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  walk(dir, dir, assets);
  return assets;
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  reply
    .header('content-type', asset.type)
    .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('vary', 'accept-encoding');
  if (asset.type.startsWith('text/html')) reply.header('content-security-policy', CSP);
  const accepts = String(request.headers['accept-encoding'] ?? '');
  if (asset.gzip && /\bgzip\b/.test(accepts))
    return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>stint</title>
<p>The stint web UI is not built. Run <code>npm run build</code> in the stint package, then restart the server. The HTTP API is at <a href="/docs">/docs</a>.</p>`;

/**
 * Serves the web UI under /ui/ (and redirects / there). No auth here: the files are public, the
 * API they call checks the user on every request.
 */
export function registerUi(app: FastifyInstance, dir: string | null): void {
  const assets = dir && existsSync(join(dir, 'index.html')) ? loadUi(dir) : new Map<string, Asset>();
  const index = assets.get('index.html');
  const hide = { schema: { hide: true } };
  app.get('/', hide, async (_request, reply) => reply.redirect(`${UI_PREFIX}/`));
  app.get(UI_PREFIX, hide, async (_request, reply) => reply.redirect(`${UI_PREFIX}/`));
  app.get(`${UI_PREFIX}/*`, hide, async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    const asset = assets.get(path);
    if (asset) return send(request, reply, asset);
    // A missing hashed file is a real 404 (an old page after an upgrade); anything else is a page of the app.
    if (path.startsWith('assets/') || !index) {
      return reply
        .code(404)
        .header('content-type', 'text/html; charset=utf-8')
        .send(index ? 'not found' : NOT_BUILT);
    }
    return send(request, reply, index);
  });
}
