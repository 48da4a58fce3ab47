import { describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import { isLoopback, startServer } from './server.js';

describe('stint server without auth', () => {
  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopback(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com', '128.0.0.1'])
      expect(isLoopback(host)).toBe(false);
  });

  it('refuses a non-loopback host unless told --insecure, before opening anything', async () => {
    await expect(startServer('sqlite::memory:', { host: '0.0.0.0', port: 0 })).rejects.toThrow(
      ValidationError,
    );
    await expect(startServer('sqlite::memory:', { host: '0.0.0.0', port: 0 })).rejects.toThrow(/--insecure/);
  });

  it('serves on loopback with a loud warning that auth is off', async () => {
    const warn = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const server = await startServer('sqlite::memory:', { host: '127.0.0.1', port: 0 });
      expect(warn.mock.calls.flat().join('\n')).toMatch(/AUTHENTICATION IS OFF/);
      const res = await server.app.inject('/healthz');
      expect(res.statusCode).toBe(200);
      await server.close();
      // inject leaves a short chain of setImmediate callbacks behind; let it run out for the leak check.
      await new Promise((resolve) => setTimeout(resolve, 5));
    } finally {
      warn.mockRestore();
    }
  });
});
