import type { FastifyReply, FastifyRequest } from 'fastify';

/** How often an idle stream sends a comment, so proxies and browsers keep it open. */
const KEEPALIVE_MS = 15_000;

/** One open Server-Sent Events response. */
export interface SseStream {
  /** Aborted when the client goes away or the server closes. */
  readonly signal: AbortSignal;
  /** Sends one event; returns false once the stream is closed. */
  send(event: string, data: unknown, id?: string | number): boolean;
  close(): void;
}

/** The open streams of one server, ended together when it closes. */
export interface SseHub {
  open(request: FastifyRequest, reply: FastifyReply): SseStream;
  closeAll(): void;
  readonly size: number;
}

export function createSseHub(): SseHub {
  const streams = new Set<SseStream>();
  return {
    get size() {
      return streams.size;
    },
    open(_request, reply) {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const controller = new AbortController();
      const keepalive = setInterval(() => {
        if (!res.writableEnded) res.write(': keepalive\n\n');
      }, KEEPALIVE_MS);
      keepalive.unref();
      const stream: SseStream = {
        signal: controller.signal,
        send(event, data, id) {
          if (controller.signal.aborted || res.writableEnded) return false;
          const idLine = id === undefined ? '' : `id: ${id}\n`;
          res.write(`${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
          return true;
        },
        close() {
          if (controller.signal.aborted) return;
          controller.abort();
          clearInterval(keepalive);
          streams.delete(stream);
          if (!res.writableEnded) res.end();
        },
      };
      streams.add(stream);
      // The response's close (not the request's: that fires once its body is read) means the client left.
      res.on('close', () => stream.close());
      // Tell the client at once that the stream is open (and how long to wait before reconnecting).
      res.write('retry: 2000\n\n');
      return stream;
    },
    closeAll() {
      for (const stream of [...streams]) stream.close();
    },
  };
}
