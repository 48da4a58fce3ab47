import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Metrics } from '../../metrics/registry.js';
import type { Store } from '../../store/types.js';
import { type Authenticator, installAuth, type Principal } from '../auth.js';
import { sameSecret } from '../auth-crypto.js';
import { bearerToken } from '../auth-store.js';

/**
 * `GET /metrics` in the Prometheus text format: the job counters and histograms of this process,
 * and gauges read from the store at each scrape. Needs the viewer role, or the `token` given (a
 * scrape-only secret, so Prometheus needs no API token).
 */
export function metricsRoute(
  store: Store,
  metrics: Metrics,
  auth: Authenticator,
  token: string | undefined,
): FastifyPluginAsync {
  const scraper: Principal = { name: 'metrics', role: 'viewer', via: 'token' };
  const withToken: Authenticator =
    auth.mode === 'off' || token === undefined
      ? auth
      : {
          mode: 'on',
          async authenticate(request: FastifyRequest) {
            const given = bearerToken(request);
            if (given && sameSecret(given, token)) return scraper;
            return auth.authenticate(request);
          },
        };
  return async (app) => {
    installAuth(app, withToken);
    app.get(
      '/metrics',
      {
        config: { access: 'viewer' },
        // Prometheus text, not JSON: documented in docs/http-api.md rather than in the OpenAPI document.
        schema: { hide: true },
      },
      async (_request, reply) => {
        metrics.refresh(await store.metricsSnapshot());
        const body = await metrics.registry.metrics();
        return reply.type(metrics.registry.contentType).send(body);
      },
    );
  };
}
