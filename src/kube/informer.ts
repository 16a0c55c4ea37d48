/**
 * A watch-fed cache of one resource kind (one scope: all namespaces or one namespace), as
 * client-go's informers keep: it lists once, then watches from the list's
 * `resourceVersion` (with bookmarks), applying each event to its store. A 410 Gone (HTTP 410,
 * or an `ERROR` event with code 410) relists; a forbidden watch (403) turns it off for good
 * (the caller lists instead); any other failure reconnects with a capped, jittered backoff.
 *
 * Readers get an immutable snapshot (a frozen array, rebuilt only after a change, with a
 * version counter); objects keep their identity while unchanged, also across relists.
 * The transport (list and watch requests) is given, so this file does no I/O itself.
 *
 * @module
 */
import { KubeApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { KubeObject } from "./types.ts";

/** One event of a watch stream. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  /** The object (a `Status` for `ERROR`). */
  object: KubeObject | Record<string, unknown>;
}

/** What an {@linkcode Informer} needs to reach the API server. */
export interface InformerTransport {
  /** Lists every object (paged), with the list's `resourceVersion`. */
  list(signal: AbortSignal): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  /**
   * Watches from `resourceVersion` until the server ends the stream (resolves) or it fails
   * (rejects; a non-200 answer rejects with a {@linkcode KubeApiError} of its status).
   * `onOpen` is called once the server answered 200.
   */
  watch(
    resourceVersion: string,
    signal: AbortSignal,
    onEvent: (event: WatchEvent) => void,
    onOpen: () => void,
  ): Promise<void>;
}

/** A consistent view of one kind. */
export interface Snapshot {
  /** The objects, frozen: replaced, never changed. */
  readonly items: readonly KubeObject[];
  /** Grows by one with every change of `items`. */
  readonly version: number;
  /** When the store last changed (ms since the epoch). */
  readonly changedAt: number;
}

/** Options of {@linkcode Informer}. */
export interface InformerOptions {
  /** What it caches, for logs: `pods`, `servers.policy.linkerd.io in "emojivoto"`. */
  name: string;
  log: Logger;
  /** First reconnection delay; doubles up to `maxBackoffMs`. Default 500. */
  backoffMs?: number;
  /** Default 30,000. */
  maxBackoffMs?: number;
  /**
   * How long after its watch broke the snapshot is still served (a reconnect is usually
   * quicker); past it {@linkcode Informer.read} answers `undefined`. Default 5,000.
   */
  staleAfterMs?: number;
}

/** The state of an {@linkcode Informer}. */
export type InformerMode = "syncing" | "watching" | "broken" | "forbidden" | "failed" | "closed";

/** An `ERROR` event's Status, thrown inside the watch loop. */
class WatchStatusError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** A cache of one kind in one scope, fed by a watch. */
export class Informer {
  readonly #t: InformerTransport;
  readonly #o: Required<InformerOptions>;
  readonly #controller = new AbortController();
  #store = new Map<string, KubeObject>();
  #resourceVersion = "";
  #snapshot: Snapshot | undefined;
  #version = 0;
  #changedAt = Date.now();
  #mode: InformerMode = "syncing";
  /** When the watch broke (undefined while it is open or reconnecting normally). */
  #brokenSince: number | undefined;
  #initial: Promise<void> | undefined;
  /** The watch loop, once started. */
  #running: Promise<void> | undefined;
  /** Watch streams opened so far (tests, freshness). */
  #watchesOpened = 0;
  #lists = 0;

  constructor(transport: InformerTransport, opts: InformerOptions) {
    this.#t = transport;
    this.#o = { backoffMs: 500, maxBackoffMs: 30_000, staleAfterMs: 5_000, ...opts };
  }

  /** Where it stands. */
  get mode(): InformerMode {
    return this.#mode;
  }

  /** True once its first list has arrived. */
  get synced(): boolean {
    return this.#snapshotReady;
  }

  /** How many lists it made (the first one and every relist). */
  get lists(): number {
    return this.#lists;
  }

  /** How many watch streams the server opened. */
  get watchesOpened(): number {
    return this.#watchesOpened;
  }

  /** When its data last changed. */
  get changedAt(): number {
    return this.#changedAt;
  }

  /** True while reads are served from the snapshot (synced, watch open or briefly down). */
  get healthy(): boolean {
    if (!this.#snapshotReady) return false;
    if (this.#mode === "watching") return true;
    return this.#mode === "broken" &&
      (this.#brokenSince === undefined || Date.now() - this.#brokenSince < this.#o.staleAfterMs);
  }

  #snapshotReady = false;

  /**
   * The current snapshot. The first call lists (and rejects with that list's error, after
   * which this informer is `failed`); later calls answer at once, without a request, while
   * {@linkcode healthy}. `undefined` when it cannot serve: its watch is forbidden, broken
   * for longer than `staleAfterMs`, or it was closed.
   */
  async read(signal?: AbortSignal): Promise<Snapshot | undefined> {
    if (!this.#initial) {
      this.#initial = this.#firstSync(
        AbortSignal.any([this.#controller.signal, this.#firstAbort.signal]),
      );
    }
    if (!this.#snapshotReady) await this.#waitFirst(signal);
    return this.healthy ? this.#current() : undefined;
  }

  /** Aborts the first list when every caller waiting for it has gone. */
  readonly #firstAbort = new AbortController();
  #firstWaiters = 0;

  /**
   * Waits for the first list; the caller's signal rejects this wait, and the list itself
   * is aborted when no caller is left waiting for it (nothing outlives its callers).
   */
  #waitFirst(signal: AbortSignal | undefined): Promise<void> {
    const initial = this.#initial!;
    this.#firstWaiters++;
    let released = false;
    const release = (reason?: unknown) => {
      if (released) return;
      released = true;
      this.#firstWaiters--;
      if (this.#firstWaiters === 0 && !this.#snapshotReady && reason !== undefined) {
        this.#firstAbort.abort(reason);
      }
    };
    if (!signal) return initial.finally(() => release());
    if (signal.aborted) {
      release(signal.reason);
      return Promise.reject(signal.reason);
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        release(signal.reason);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      initial.then(resolve, reject).finally(() => {
        signal.removeEventListener("abort", onAbort);
        release();
      });
    });
  }

  /**
   * Stops the watch and any request in flight; later reads answer `undefined`. Resolves
   * once its loop has ended.
   */
  async close(): Promise<void> {
    this.#mode = "closed";
    this.#controller.abort(new DOMException("the cluster source closed", "AbortError"));
    await this.#running;
  }

  async #firstSync(signal: AbortSignal): Promise<void> {
    try {
      await this.#relist(signal);
    } catch (err) {
      if (this.#mode !== "closed") this.#mode = "failed";
      throw err;
    }
    this.#snapshotReady = true;
    this.#mode = "watching";
    this.#running = this.#loop().catch((err) => {
      this.#o.log.warn("watch loop stopped", { of: this.#o.name, error: String(err) });
      if (this.#mode !== "closed") this.#mode = "failed";
    });
  }

  #current(): Snapshot {
    this.#snapshot ??= {
      items: Object.freeze([...this.#store.values()]),
      version: this.#version,
      changedAt: this.#changedAt,
    };
    return this.#snapshot;
  }

  #changed(): void {
    this.#version++;
    this.#changedAt = Date.now();
    this.#snapshot = undefined;
  }

  async #relist(signal: AbortSignal = this.#controller.signal): Promise<void> {
    this.#lists++;
    const { items, resourceVersion } = await this.#t.list(signal);
    const next = new Map<string, KubeObject>();
    let changed = items.length !== this.#store.size;
    for (const item of items) {
      const k = keyOf(item);
      const old = this.#store.get(k);
      // An unchanged object keeps its identity (models memoised on it stay valid).
      if (old && sameVersion(old, item)) next.set(k, old);
      else {
        next.set(k, item);
        changed = true;
      }
    }
    this.#store = next;
    this.#resourceVersion = resourceVersion;
    if (changed || this.#version === 0) this.#changed();
  }

  async #loop(): Promise<void> {
    const signal = this.#controller.signal;
    let backoff = this.#o.backoffMs;
    let relist = false;
    while (!signal.aborted) {
      const started = Date.now();
      let opened = false;
      try {
        if (relist) {
          await this.#relist();
          relist = false;
        }
        await this.#t.watch(this.#resourceVersion, signal, (e) => this.#apply(e), () => {
          opened = true;
          this.#watchesOpened++;
          this.#mode = "watching";
          this.#brokenSince = undefined;
          backoff = this.#o.backoffMs;
        });
        // The server ended the stream (its timeout): reconnect, at once unless it was short.
        if (Date.now() - started >= 1000) continue;
      } catch (err) {
        if (signal.aborted) return;
        const code = err instanceof WatchStatusError
          ? err.code
          : err instanceof KubeApiError
          ? err.status
          : 0;
        if (code === 410) {
          this.#o.log.debug("watch: resourceVersion expired, relisting", { of: this.#o.name });
          relist = true;
          if (opened) continue; // an ERROR event on an open stream: relist at once
        } else if (code === 403 || code === 405) {
          this.#o.log.info("watch forbidden: listing on every call instead", {
            of: this.#o.name,
          });
          this.#mode = "forbidden";
          this.#store = new Map();
          this.#snapshot = undefined;
          return;
        } else {
          this.#o.log.debug("watch failed, reconnecting", {
            of: this.#o.name,
            error: err instanceof Error ? err.message : String(err),
          });
        }
        if (this.#mode === "watching") this.#mode = "broken";
        this.#brokenSince ??= Date.now();
      }
      const wait = Math.min(backoff, this.#o.maxBackoffMs);
      backoff = Math.min(backoff * 2, this.#o.maxBackoffMs);
      await sleep(wait * (0.8 + Math.random() * 0.4), signal);
    }
  }

  #apply(e: WatchEvent): void {
    if (e.type === "ERROR") {
      const s = e.object as { code?: unknown; message?: unknown };
      throw new WatchStatusError(
        typeof s.code === "number" ? s.code : 500,
        typeof s.message === "string" ? s.message : "watch error",
      );
    }
    const obj = e.object as KubeObject;
    const rv = obj.metadata?.resourceVersion;
    if (typeof rv === "string" && rv !== "") this.#resourceVersion = rv;
    if (e.type === "BOOKMARK") return;
    const k = keyOf(obj);
    if (e.type === "DELETED") {
      if (this.#store.delete(k)) this.#changed();
      return;
    }
    const old = this.#store.get(k);
    if (old && sameVersion(old, obj)) return;
    this.#store.set(k, obj);
    this.#changed();
  }
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

function sameVersion(a: KubeObject, b: KubeObject): boolean {
  const ra = a.metadata.resourceVersion;
  return typeof ra === "string" && ra !== "" && ra === b.metadata.resourceVersion &&
    a.metadata.uid === b.metadata.uid;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
