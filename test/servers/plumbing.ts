/**
 * What the fake servers share around their own handlers: the connections and timers a server must end
 * when it closes, and small helpers for requests and answers.
 */
import { randomInt } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Server, Socket } from "node:net";
import { listenOnLoopback } from "./listen";

/**
 * Listens for `server` on loopback, counts and keeps the connections it accepts, and runs its timers:
 * close() clears the timers and destroys the connections, so a test never waits on a kept-alive
 * socket or a late answer.
 */
export class Plumbing {
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private accepted = 0;

  constructor(private readonly server: Server) {
    server.on("connection", (socket: Socket) => {
      this.accepted++;
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.accepted;
  }

  /** Listens on 127.0.0.1 with a port the system picks; resolves to http://127.0.0.1:<port>. */
  async listen(): Promise<string> {
    return `http://127.0.0.1:${await listenOnLoopback(this.server)}`;
  }

  /** Runs `fn` in `ms`, unless the server is closed first. */
  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    return closed;
  }
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export function randomBase62(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += BASE62.charAt(randomInt(BASE62.length));
  return out;
}

/** ISO 8601 with second precision, as GitHub writes it: 2024-01-01T00:00:00Z. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** When a token minted now for `lifetimeSeconds` expires, in epoch ms rounded down to the second. */
export function expiryIn(lifetimeSeconds: number): number {
  return Math.floor((Date.now() + lifetimeSeconds * 1000) / 1000) * 1000;
}

/** A request header, repeated values joined with ", ". */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/** Reads the whole body, keeping at most `limit` bytes; the rest is drained so the answer can still be read. */
export function readBody(req: IncomingMessage, limit = Infinity): Promise<{ body: string; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on("end", () => resolve({ body: Buffer.concat(chunks).toString("utf8"), tooLarge: size > limit }));
    req.on("error", reject);
  });
}
