/**
 * `Deno.serve`'s shape (a `Request → Response` handler, `addr`, `finished`, an abort
 * signal) over a `node:https` server. Test API servers use it instead of `Deno.serve`
 * because `Deno.serve` over TLS leaves Nagle's algorithm on: a response written in several
 * TLS records then waits ~40 ms for the client's delayed ACK on every keep-alive request of
 * Deno's own `fetch` (measured: 44 ms a request, against 0.7 ms here and 1.6 ms from a real
 * kube-apiserver, which sets TCP_NODELAY as every Go server does). A stand-in that stalls
 * one client and not another would falsify what the benchmarks compare.
 *
 * @module
 */
import { createServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Options for {@linkcode serveNodeHttps}. */
export interface NodeServeOptions {
  hostname: string;
  port: number;
  cert: string;
  key: string;
  /** Closes the server (open connections are destroyed). */
  signal?: AbortSignal;
  /** The answer when the handler throws. */
  onError?: (err: unknown) => Response;
}

/** A running server. */
export interface NodeServer {
  addr: { hostname: string; port: number };
  /** Resolves when the server has closed. */
  finished: Promise<void>;
}

/**
 * Serves `handler` over HTTPS. A request's `signal` aborts when its client goes away
 * before the answer is complete; a streamed body is written with backpressure and
 * cancelled when the client goes away.
 */
export async function serveNodeHttps(
  opts: NodeServeOptions,
  handler: (req: Request) => Response | Promise<Response>,
): Promise<NodeServer> {
  const server = createServer({ cert: opts.cert, key: opts.key }, (req, res) => {
    void answer(req, res, handler, opts.onError);
  });
  // As a Go API server does.
  server.on("secureConnection", (socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve) => server.listen(opts.port, opts.hostname, resolve));
  const finished = new Promise<void>((resolve) => server.on("close", () => resolve()));
  const stop = () => {
    server.close();
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  };
  if (opts.signal?.aborted) stop();
  else opts.signal?.addEventListener("abort", stop, { once: true });
  const port = (server.address() as AddressInfo).port;
  return { addr: { hostname: opts.hostname, port }, finished };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  handler: (req: Request) => Response | Promise<Response>,
  onError: ((err: unknown) => Response) | undefined,
): Promise<void> {
  const gone = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) gone.abort(new DOMException("client gone", "AbortError"));
  });
  let response: Response;
  try {
    const method = req.method ?? "GET";
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === "string") headers.set(k, v);
      else if (Array.isArray(v)) { for (const one of v) headers.append(k, one); }
    }
    let body: Uint8Array<ArrayBuffer> | undefined;
    if (method !== "GET" && method !== "HEAD") {
      const chunks: Uint8Array[] = [];
      for await (const c of req) chunks.push(c as Uint8Array);
      body = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
      let at = 0;
      for (const c of chunks) {
        body.set(c, at);
        at += c.byteLength;
      }
    }
    const request = new Request(`https://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
      method,
      headers,
      ...(body ? { body } : {}),
      signal: gone.signal,
    });
    response = await handler(request);
  } catch (err) {
    if (gone.signal.aborted) return;
    response = onError ? onError(err) : new Response(null, { status: 500 });
  }
  const out: Record<string, string> = {};
  response.headers.forEach((v, k) => out[k] = v);
  res.writeHead(response.status, out);
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  gone.signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
      }
      if (gone.signal.aborted) return;
    }
    res.end();
  } catch {
    res.destroy();
  }
}
