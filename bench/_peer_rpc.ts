/**
 * A minimal MCP client over a child process's stdio for `bench/peer_bench.ts`: raw
 * JSON-RPC lines, no SDK (so the time measured is the server's, not a client's schema
 * compilation), the same for any server binary.
 *
 * @module
 */

/** One JSON-RPC answer, with the bytes of its line. */
export interface RpcAnswer {
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
  /** Bytes of the whole JSON-RPC line. */
  bytes: number;
  /** `performance.now()` when the line was complete (before it was parsed). */
  at: number;
}

/** A tool result's sizes: `structuredContent` JSON and text blocks, in UTF-8 bytes. */
export interface AnswerSize {
  structuredBytes: number;
  textBytes: number;
  total: number;
  isError: boolean;
  /** The first text block, cut to 200 characters (for error notes). */
  firstText: string;
}

const encoder = new TextEncoder();

/** The sizes of a `tools/call` result. */
export function answerSize(result: Record<string, unknown> | undefined): AnswerSize {
  const content = (result?.["content"] ?? []) as Array<{ type?: string; text?: string }>;
  const texts = content.filter((c) => c.type === "text").map((c) => c.text ?? "");
  const structuredBytes = result?.["structuredContent"] === undefined
    ? 0
    : encoder.encode(JSON.stringify(result["structuredContent"])).length;
  const textBytes = texts.reduce((n, t) => n + encoder.encode(t).length, 0);
  return {
    structuredBytes,
    textBytes,
    total: structuredBytes + textBytes,
    isError: result?.["isError"] === true,
    firstText: (texts[0] ?? "").slice(0, 200),
  };
}

/** `VmHWM` (peak resident set) of a live process in MB, from `/proc/<pid>/status` (Linux). */
export function peakRssMb(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
    return Number.isFinite(kb) ? kb / 1024 : undefined;
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

/** A server process spoken to over stdio. */
export class RpcProcess {
  readonly pid: number;
  readonly spawnedAt: number;
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #pending = new Map<number, (a: RpcAnswer) => void>();
  #nextId = 1;
  #stderr = "";
  #exited = false;
  #done: Promise<void>;

  private constructor(child: Deno.ChildProcess, spawnedAt: number) {
    this.#child = child;
    this.pid = child.pid;
    this.spawnedAt = spawnedAt;
    this.#writer = child.stdin.getWriter();
    this.#done = Promise.all([this.#readStdout(), this.#readStderr()]).then(() => {});
    child.status.then(() => {
      this.#exited = true;
      for (const resolve of this.#pending.values()) {
        resolve({
          error: { code: -1, message: `server exited: ${this.stderrTail()}` },
          bytes: 0,
          at: performance.now(),
        });
      }
      this.#pending.clear();
    });
  }

  /** Spawns `command` with exactly `env` (nothing inherited). */
  static spawn(command: string, args: string[], env: Record<string, string>): RpcProcess {
    const spawnedAt = performance.now();
    const child = new Deno.Command(command, {
      args,
      clearEnv: true,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new RpcProcess(child, spawnedAt);
  }

  async #readStdout(): Promise<void> {
    const decoder = new TextDecoder();
    // Pieces of the current line: a multi-megabyte answer is scanned once, not per chunk.
    let pieces: string[] = [];
    for await (const chunk of this.#child.stdout) {
      let text = decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = text.indexOf("\n")) >= 0) {
        pieces.push(text.slice(0, nl));
        text = text.slice(nl + 1);
        const line = pieces.join("");
        pieces = [];
        if (line.trim()) this.#onLine(line);
      }
      if (text) pieces.push(text);
    }
  }

  #onLine(line: string): void {
    const at = performance.now();
    let msg: { id?: number; method?: string; result?: unknown; error?: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      return; // not JSON-RPC (a server must not, but do not crash the bench)
    }
    if (msg.method !== undefined && msg.id !== undefined) {
      // A request from the server (none is expected: no client capabilities are declared).
      void this.#send({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "no" } });
      return;
    }
    if (typeof msg.id !== "number") return; // a notification (progress, log)
    const resolve = this.#pending.get(msg.id);
    if (!resolve) return;
    this.#pending.delete(msg.id);
    resolve({
      ...(msg.result !== undefined ? { result: msg.result as Record<string, unknown> } : {}),
      ...(msg.error !== undefined ? { error: msg.error as RpcAnswer["error"] & object } : {}),
      bytes: encoder.encode(line).length,
      at,
    });
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stderr) {
      this.#stderr = (this.#stderr + decoder.decode(chunk, { stream: true })).slice(-4000);
    }
  }

  #send(msg: unknown): Promise<void> {
    return this.#writer.write(encoder.encode(JSON.stringify(msg) + "\n"));
  }

  /** Sends a request; the promise settles with the answer (or the exit, or `timeoutMs`). */
  request(method: string, params: unknown, timeoutMs = 600_000): Promise<RpcAnswer> {
    const id = this.#nextId++;
    if (this.#exited) {
      return Promise.resolve({
        error: { code: -1, message: "server exited" },
        bytes: 0,
        at: performance.now(),
      });
    }
    return new Promise<RpcAnswer>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve({
          error: { code: -2, message: `no answer in ${timeoutMs} ms` },
          bytes: 0,
          at: performance.now(),
        });
      }, timeoutMs);
      this.#pending.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.#send({ jsonrpc: "2.0", id, method, params }).catch(() => {});
    });
  }

  /**
   * `initialize`, `notifications/initialized` and `tools/list`, pipelined: the tools' count
   * and when the `tools/list` answer was complete.
   */
  async handshake(): Promise<{ tools: number; at: number }> {
    const init = this.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "peer-bench", version: "0" },
    });
    await this.#send({ jsonrpc: "2.0", method: "notifications/initialized" });
    const list = await this.request("tools/list", {});
    const i = await init;
    if (i.error) throw new Error(`initialize failed: ${i.error.message}`);
    if (list.error) throw new Error(`tools/list failed: ${list.error.message}`);
    return { tools: ((list.result?.["tools"] ?? []) as unknown[]).length, at: list.at };
  }

  /** Calls a tool; the time is from the write to the answer's last byte (not its parsing). */
  async callTool(
    name: string,
    args: Record<string, unknown>,
  ): Promise<{ ms: number; size: AnswerSize; error?: string }> {
    const t0 = performance.now();
    const a = await this.request("tools/call", { name, arguments: args });
    const ms = a.at - t0;
    return { ms, size: answerSize(a.result), ...(a.error ? { error: a.error.message } : {}) };
  }

  /** The last 4,000 characters the server wrote to stderr. */
  stderrTail(): string {
    return this.#stderr;
  }

  /** Closes stdin, then kills the process if it has not exited within `graceMs`. */
  async close(graceMs = 2_000): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, graceMs);
    await this.#child.status;
    clearTimeout(timer);
    await this.#done.catch(() => {});
  }
}
