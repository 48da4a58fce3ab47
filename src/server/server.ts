import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import pino from 'pino';
import { createClient } from '../client/client.js';
import { trackResource } from '../internal/resources.js';
import { type JobObserver, observeSubmissions } from '../metrics/observer.js';
import { createMetrics, type Metrics } from '../metrics/registry.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { type AuthConfig, installAuth } from './auth.js';
import { resolveAuth } from './auth-store.js';
import type { RouteDeps } from './deps.js';
import { HttpError, sendError } from './errors.js';
import { authRoutes } from './routes/auth.js';
import { healthRoutes } from './routes/health.js';
import { apiRoutes } from './routes/index.js';
import { metricsRoute } from './routes/metrics.js';
import { createSseHub } from './sse.js';
import { findUiDir, registerUi } from './ui.js';

/** Where the API lives; later versions get their own prefix beside it. */
export const API_PREFIX = '/api/v1';

export interface ServerOptions {
  /** A store, or where to open one (SQLite path, `sqlite:` or `postgres://` URL); an opened one is closed with the server. */
  store: Store | string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 7070 */
  port?: number;
  /** A pino logger, `true` for requests at info level, `false` for none. @default warnings and errors as JSON on stderr */
  logger?: FastifyBaseLogger | boolean;
  /** `{ mode: 'on' }` for the store's API tokens and login sessions; see docs/http-api.md#auth. */
  auth: AuthConfig;
  /**
   * Prometheus `/metrics` (viewer role, or `token` as a bearer token that may read only the
   * metrics); `false` for none. @default served
   */
  metrics?: false | { token?: string };
  /** Largest request body, in bytes (413 above it). @default 1 MiB */
  bodyLimit?: number;
  /** Serve the web UI under /ui/ (and redirect / there); `{ dir }` serves another build of it. @default true */
  ui?: boolean | { dir: string };
}

export interface Server {
  readonly app: FastifyInstance;
  /** Starts listening; resolves with the URL it listens on. */
  listen(): Promise<string>;
  /** Ends open streams and long-polls, stops listening, and closes the store if the server opened it. */
  close(): Promise<void>;
  /** `http://host:port`; the real port once `listen()` has resolved. */
  readonly url: string;
  /** Feeds this server's `/metrics`: give it to workers in the same process (`createWorker({ metrics })`). */
  readonly metrics: JobObserver | null;
}

interface Resolved {
  host: string;
  port: number;
  bodyLimit: number;
}

function resolve(options: ServerOptions): Resolved {
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 7070,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
  };
}

function loggerOption(
  logger: ServerOptions['logger'],
): { loggerInstance: FastifyBaseLogger } | { logger: boolean } {
  if (logger === true || logger === false) return { logger };
  return {
    loggerInstance:
      logger ?? pino({ level: 'warn', base: { lib: 'stint', component: 'server' } }, pino.destination(2)),
  };
}

function formatUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The HTTP API: every route under `/api/v1` calls the client API (so validation and behaviour are
 * the library's), with `/healthz`, `/readyz`, `/openapi.json` and a docs page at `/docs`.
 */
export function createServer(options: ServerOptions): Server {
  const o = resolve(options);
  const ownsStore = typeof options.store === 'string';
  const store = typeof options.store === 'string' ? openStore(options.store) : options.store;
  const metrics: Metrics | null = options.metrics === false ? null : createMetrics();
  const client = createClient({ store: metrics ? observeSubmissions(store, metrics.observer) : store });
  const auth = resolveAuth(options.auth, store);
  const sse = createSseHub();
  const closing = new AbortController();
  const deps: RouteDeps = { client, store, sse, closing: closing.signal };

  const app = Fastify({
    ...loggerOption(options.logger),
    bodyLimit: o.bodyLimit,
    return503OnClosing: true,
    // Names are up to 200 characters, percent-encoded up to three times as long.
    routerOptions: { maxParamLength: 1000 },
    // Errors raised before routing (a malformed URL, a parameter too long) get the same shape.
    frameworkErrors: (err, request, reply) => sendError(err, request, reply),
    forceCloseConnections: 'idle',
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', null);
  // Every error goes out in one shape, without a stack trace (those stay in the log).
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new HttpError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
      request,
      reply,
    ),
  );

  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'stint HTTP API',
        description: 'Durable jobs, flows, schedules and datasets. See docs/http-api.md.',
        version: '1',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: 'stint_session' },
        },
      },
      security: options.auth.mode === 'on' ? [{ bearer: [] }, { session: [] }] : [],
    },
    transform: jsonSchemaTransform,
  });
  void app.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { validatorUrl: null } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  void app.register(healthRoutes(store));
  if (options.ui !== false) registerUi(app, typeof options.ui === 'object' ? options.ui.dir : findUiDir());
  if (metrics) {
    const token = options.metrics === false ? undefined : options.metrics?.token;
    void app.register(metricsRoute(store, metrics, auth.authenticator, token));
  }
  void app.register(
    async (api) => {
      installAuth(api, auth.authenticator);
      await api.register(apiRoutes(deps));
      await api.register(authRoutes(store, auth));
    },
    { prefix: API_PREFIX },
  );
  // Streams and long-polls end before the listener closes, so close() never waits on them.
  app.addHook('preClose', async () => {
    closing.abort();
    sse.closeAll();
  });

  const untrack = trackResource('server');
  let listening: string | null = null;
  let closed = false;
  return {
    app,
    get url() {
      return listening ?? formatUrl(o.host, o.port);
    },
    metrics: metrics?.observer ?? null,
    async listen() {
      await app.listen({ host: o.host, port: o.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : o.port;
      listening = formatUrl(o.host, port);
      return listening;
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await app.close();
      } finally {
        await client.close();
        if (ownsStore) await store.close();
        untrack();
      }
    },
  };
}
