/**
 * Many git processes, one final failure: when the process holding the lock gets a 401, the ones
 * that were waiting for it fail with the same message instead of each asking the broker again, and
 * so does a get that starts within the next 10 s (the failure note; test/unit/serve-token.test.ts
 * shows a get after those 10 s asking afresh).
 */
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helper, type RunResult } from "./harness";
import { expectFailure, newApiKey, request, tempEnvs } from "./fixtures";
import { listenOnLoopback } from "../servers/listen";

const WAITERS = 15;

/** A broker that answers 401 to everything, but only once `release()` is called. */
function gatedUnauthorizedBroker() {
  let requests = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    void gate.then(() => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "unauthorized", message: "invalid API key" }));
    });
  });
  return {
    server,
    release: () => release(),
    get requests() {
      return requests;
    },
  };
}

const broker = gatedUnauthorizedBroker();
let url = "";
const env = tempEnvs(() => ({ brokerUrl: url, apiKey: newApiKey(), hosts: ["github.com"], wireGit: false }));

beforeAll(async () => {
  url = `http://127.0.0.1:${await listenOnLoopback(broker.server)}`;
});

afterAll(async () => {
  broker.server.closeAllConnections();
  await new Promise((resolve) => broker.server.close(resolve));
});

async function linesWaiting(trace: string): Promise<number> {
  const text = await readFile(trace, "utf8").catch(() => "");
  return text.split("\n").filter((l) => l.includes("holds the lock; waiting")).length;
}

describe("a final failure seen by many waiting processes", () => {
  it("asks the broker once; every waiter, and a get started just after, fails with the holder's message", async () => {
    const t = await env();
    const trace = join(t.home, "trace.log");
    const traced = { ...t, env: { ...t.env, VERS_CREDENTIAL_TRACE: trace } };
    const holder = helper(traced, ["get"], request("github.com"));
    const waiters: Array<Promise<RunResult>> = [];
    // Start the waiters once the holder is in its request (it holds the lock by then).
    while (broker.requests === 0) await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < WAITERS; i++) waiters.push(helper(traced, ["get"], request("github.com")));
    // Release the 401 only when every waiter has said it is waiting.
    while ((await linesWaiting(trace)) < WAITERS) await new Promise((resolve) => setTimeout(resolve, 10));
    broker.release();

    const results = await Promise.all([holder, ...waiters]);
    for (const r of results) expectFailure(r, /the broker rejected VERS_API_KEY \(HTTP 401\)/);
    expect(broker.requests).toBe(1);

    const later = await helper(t, ["get"], request("github.com"));
    expectFailure(later, /the broker rejected VERS_API_KEY \(HTTP 401\)/);
    expect(broker.requests).toBe(1);
  });
});
