import type { Server } from "node:net";

/** Listens on 127.0.0.1 with a port the system picks (never a fixed port); resolves to that port. */
export function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      if (addr === null || typeof addr === "string") reject(new Error("no TCP address"));
      else resolve(addr.port);
    });
  });
}
