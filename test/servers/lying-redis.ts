/**
 * A RESP server on loopback that speaks the protocol but lies: every key is missing, yet no lock can be taken —
 * GET nil, SET … NX nil, PTTL -2, MULTI/EXEC as Redis does them, EVAL (the claim script) "not taken, no lock there",
 * BLPOP nil at once. What a server that is not Redis (or a broken proxy) can make a client believe forever. It counts
 * the commands it was sent, so a test can bound them.
 */
import { createServer, type Server, type Socket } from "node:net";
import { listenOnLoopback } from "./listen";

export interface LyingRedis {
  url: string;
  /** Commands received so far, by name (upper case). */
  readonly commands: Map<string, number>;
  total(): number;
  close(): Promise<void>;
}

const NIL = "$-1\r\n";

function answer(name: string): string {
  switch (name) {
    case "AUTH":
    case "SELECT":
    case "PING":
    case "MULTI":
      return "+OK\r\n";
    case "PTTL":
      return ":-2\r\n";
    case "EVAL":
    case "EVALSHA":
      return `*4\r\n:0\r\n${NIL}${NIL}${NIL}`;
    case "EXISTS":
    case "DEL":
      return ":0\r\n";
    default:
      return NIL;
  }
}

/** Parses RESP arrays of bulk strings out of `buffer`; returns the commands and what is left. */
function parse(buffer: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let at = 0;
  for (;;) {
    const start = at;
    const header = buffer.indexOf("\r\n", at);
    if (header < 0 || buffer[at] !== 0x2a /* * */) return { commands, rest: buffer.subarray(start) };
    const count = Number(buffer.subarray(at + 1, header).toString());
    at = header + 2;
    const words: string[] = [];
    for (let i = 0; i < count; i++) {
      const line = buffer.indexOf("\r\n", at);
      if (line < 0) return { commands, rest: buffer.subarray(start) };
      const len = Number(buffer.subarray(at + 1, line).toString());
      if (buffer.length < line + 2 + len + 2) return { commands, rest: buffer.subarray(start) };
      words.push(buffer.subarray(line + 2, line + 2 + len).toString());
      at = line + 2 + len + 2;
    }
    commands.push(words);
  }
}

export async function startLyingRedis(): Promise<LyingRedis> {
  const commands = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let pending: Buffer = Buffer.alloc(0);
    let queued: string[] | undefined;
    socket.on("data", (chunk: Buffer) => {
      const { commands: got, rest } = parse(Buffer.concat([pending, chunk]));
      pending = rest;
      let out = "";
      for (const [raw] of got) {
        const name = (raw ?? "").toUpperCase();
        commands.set(name, (commands.get(name) ?? 0) + 1);
        if (name === "EXEC") {
          out += `*${queued?.length ?? 0}\r\n${(queued ?? []).join("")}`;
          queued = undefined;
        } else if (queued && name !== "MULTI") {
          queued.push(answer(name));
          out += "+QUEUED\r\n";
        } else {
          if (name === "MULTI") queued = [];
          out += answer(name);
        }
      }
      if (out) socket.write(out);
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `redis://127.0.0.1:${port}`,
    commands,
    total: () => [...commands.values()].reduce((a, b) => a + b, 0),
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      return closed;
    },
  };
}
