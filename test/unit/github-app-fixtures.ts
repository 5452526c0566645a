/**
 * Shared setup for the github-app unit tests: a test app's keys, a fake GitHub per test (closed after
 * it), a Map-backed memo, and mint() calling the source directly with a Deadline and a captured trace.
 */
import { afterEach } from "vitest";
import { Deadline } from "../../src/deadline";
import { isHelperError, type HelperError } from "../../src/errors";
import type { Scope } from "../../src/scope";
import { githubAppSource } from "../../src/sources/github-app";
import { createTransport } from "../../src/sources/http";
import type { Memo, MintContext } from "../../src/sources/types";
import type { Token } from "../../src/token";
import { generateAppKeys, startFakeGitHub, type FakeGitHub, type FakeGitHubOptions } from "../servers/fake-github";
import { TokenRegistry } from "../servers/token-registry";

export const APP_ID = "4242";
export const KEYS = generateAppKeys();

export const REPO: Scope = { host: "github.com", owner: "acme", repositories: ["widgets"] };
export const ORG_WIDE: Scope = { host: "github.com", repositories: [] };

/** `await github({...})` starts a fake GitHub for APP_ID/KEYS (one installation, 1 on acme, unless told); closed after the test. */
export function fakeGitHubs(): (o?: Partial<FakeGitHubOptions>) => Promise<FakeGitHub & { registry: TokenRegistry }> {
  const started: FakeGitHub[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((g) => g.close()));
  });
  return async (o = {}) => {
    const registry = o.registry ?? new TokenRegistry();
    const gh = await startFakeGitHub({ appId: APP_ID, publicKeyPem: KEYS.publicKeyPem, installations: [{ id: 1, account: "acme" }], ...o, registry });
    started.push(gh);
    return Object.assign(gh, { registry });
  };
}

export class MapMemo implements Memo {
  readonly data = new Map<string, string>();
  get(key: string): string | undefined {
    return this.data.get(key);
  }
  set(key: string, value: string): void {
    this.data.set(key, value);
  }
}

export interface MintOptions {
  env?: Record<string, string>;
  installationId?: string;
  memo?: Memo;
  timeoutMs?: number;
  maxAttempts?: number;
  homedir?: string;
}

/**
 * githubAppSource(...).mint(scope, ctx) against `apiUrl`, over the helper's one transport (closed
 * after); the trace lines are returned too.
 */
export async function mint(apiUrl: string, scope: Scope, o: MintOptions = {}, trace: string[] = []): Promise<{ token: Token; trace: string[] }> {
  const env = o.env ?? { GITHUB_APP_PRIVATE_KEY: KEYS.pkcs1 };
  const ctx: MintContext = {
    deadline: Deadline.in(o.timeoutMs ?? 10_000, Date.now),
    trace: (m: string) => trace.push(m),
    now: Date.now,
    env: {},
    maxAttempts: o.maxAttempts ?? 100,
    memo: o.memo,
  };
  const http = createTransport(ctx.env, ctx.deadline, ctx.trace);
  const source = githubAppSource(
    { kind: "github-app", identity: `github-app ${apiUrl} ${APP_ID} ${o.installationId ?? "auto"}`, apiUrl, appId: APP_ID, installationId: o.installationId, env, homedir: o.homedir ?? "/nonexistent" },
    http,
  );
  try {
    return { token: await source.mint(scope, ctx), trace };
  } finally {
    await http.close();
  }
}

/** The HelperError a mint fails with (its trace in `traced`); fails the test if it succeeds or throws anything else. */
export async function mintError(apiUrl: string, scope: Scope, o: MintOptions = {}): Promise<HelperError & { traced: string }> {
  const trace: string[] = [];
  try {
    await mint(apiUrl, scope, o, trace);
  } catch (err) {
    if (isHelperError(err)) return Object.assign(err, { traced: trace.join("\n") });
    throw err;
  }
  throw new Error("the mint succeeded");
}
