/**
 * Issue 12's property, a few runs through the built helper (the in-process property test,
 * test/unit/trust.property.test.ts, does the many runs): random requests with control characters and
 * url= lines, a GITHUB_TOKEN that may hold one, and the fake broker in a random mode. stdout is empty
 * or exactly a clean answer, stderr is escaped, and neither the key nor the static token shows on it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { helper } from "./harness";
import { PREFIX, tempEnvs, useServers } from "./fixtures";
import type { BrokerMode } from "../servers/fake-broker";
import { valueProblem } from "../../src/text";

const RUNS = 12;
const servers = useServers();
const env = tempEnvs(() => ({ brokerUrl: servers.broker.url, apiKey: servers.apiKey, hosts: ["github.com"], wireGit: false, extraEnv: { VERS_TIMEOUT: "5" } }));
/* eslint-disable-next-line no-control-regex */
const UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/;

const junk = fc.string({ unit: fc.constantFrom("a", "/", ".", "%", "=", "@", ":", " ", "\r", "\t", "\x1b", "\x07", "\x85", "\u2028", "\u202e", "é"), maxLength: 20 });
const line = fc.oneof(
  fc.constantFrom("protocol=https", "protocol=http", "host=github.com", "host=GitHub.com:443", "host=evil.example", "path=acme/widgets.git", "path=acme", "path=acme/.git"),
  junk.map((v) => `path=${v}`),
  junk.map((v) => `host=github.com${v}`),
  junk.map((v) => `url=https://github.com/${encodeURIComponent(v)}/w.git`),
);
const input = fc.array(line, { maxLength: 4 }).map((more) => ["protocol=https", "host=github.com", ...more].join("\n") + "\n\n");
const staticToken = fc.option(fc.tuple(fc.constantFrom("", "\n", "\r", "\x1b", " "), fc.stringMatching(/^[A-Za-z0-9]{12}$/)).map(([c, part]) => ({ value: `ghp_${part}${c}${part}`, part })), { nil: undefined });
const mode = fc.constantFrom<BrokerMode>("ok", "ok", "401", "422", "garbage", "bad-token", "past-expiry");

describe("get through the built helper", () => {
  it("prints nothing or a clean answer, escapes stderr, shows no secret", async () => {
    await fc.assert(
      fc.asyncProperty(input, staticToken, fc.boolean(), mode, async (text, token, fallback, brokerMode) => {
        servers.broker.setMode(brokerMode);
        const extra: Record<string, string> = {};
        if (token) extra.GITHUB_TOKEN = token.value;
        if (fallback) extra.VERS_FALLBACK = "static";
        const t = await env({ extraEnv: extra });
        const r = await helper(t, ["get"], text);
        expect(r.signal).toBeNull();
        expect([0, 1]).toContain(r.code);
        if (r.stdout !== "") {
          const lines = r.stdout.replace(/\n$/, "").split("\n");
          expect(lines[0]).toBe("username=x-access-token");
          expect(lines[1]).toMatch(/^password=/);
          expect(valueProblem(lines[1]!.slice("password=".length))).toBeUndefined();
          if (lines.length === 3) expect(lines[2]).toMatch(/^password_expiry_utc=\d+$/);
          else expect(lines).toHaveLength(2);
        }
        expect(r.stderr.replace(/\n/g, "")).not.toMatch(UNSAFE);
        for (const l of r.stderr.split("\n").filter(Boolean)) expect(l.startsWith(PREFIX), l).toBe(true);
        expect(r.stderr).not.toContain(servers.apiKey.slice(0, 20));
        if (token) expect(r.stderr).not.toContain(token.part);
      }),
      { numRuns: RUNS },
    );
  });
});
