/**
 * Shared setup for the refresh-grant end-to-end files: the fake grant service and the TLS git host on
 * one token registry (the host accepts a redeemed token for its grant's repository only), a temporary
 * HOME per test wired to the built helper with no Vers key, and readers for the grants file.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { git, helper, run, type RunResult, type TestEnv } from "./harness";
import { tempEnvs } from "./fixtures";
import { startFakeGrantServer, type FakeGrantServer, type IssuedGrant } from "../servers/fake-grant";
import { startGitHost, type GitHost } from "../servers/git-host";
import { TokenRegistry } from "../servers/token-registry";

export interface GrantWorld {
  service: FakeGrantServer;
  gitHost: GitHost;
}

type EnvOptions = { wireGit?: boolean; extraEnv?: Record<string, string> };

/**
 * Starts the service and the git host for the file, puts the service back to normal before each test,
 * and gives temporary HOMEs: `env()` bare, `withGrant(name)` holding a grant (added with `grant add`) for a
 * new repository.
 */
export function grantWorld(): {
  world: GrantWorld;
  env: (o?: EnvOptions) => Promise<TestEnv>;
  withGrant: (name: string, o?: EnvOptions) => Promise<{ t: TestEnv; url: string; issued: IssuedGrant }>;
} {
  const world = {} as GrantWorld;
  beforeAll(async () => {
    const registry = new TokenRegistry();
    [world.service, world.gitHost] = await Promise.all([startFakeGrantServer({ registry }), startGitHost({ registry })]);
  });
  afterAll(async () => {
    await Promise.all([world.service?.close(), world.gitHost?.close()]);
  });
  beforeEach(() => {
    world.service.setMode("ok");
    world.service.setRotation(false);
    world.service.setLifetime(3600);
  });
  const env = tempEnvs(() => ({ hosts: [world.gitHost.host], caFile: world.gitHost.caFile, extraEnv: { VERS_TIMEOUT: "15" } }));
  const withGrant = async (name: string, o: EnvOptions = { wireGit: false }) => {
    const t = await env(o);
    const { url, issued } = await grantedRepo(world, name);
    await addGrant(t, issued);
    return { t, url, issued };
  };
  return { world, env, withGrant };
}

/** A new repository in the host's org, and a grant for it. */
export async function grantedRepo(world: GrantWorld, name: string): Promise<{ url: string; issued: IssuedGrant }> {
  const unique = `${name}-${Math.random().toString(36).slice(2, 8)}`;
  const url = await world.gitHost.createRepo("acme", unique);
  return { url, issued: world.service.issue(`acme/${unique}`) };
}

/** `grant add` with the service's JSON on stdin, as the README shows it. */
export async function addGrant(t: TestEnv, issued: IssuedGrant): Promise<RunResult> {
  const r = await helper(t, ["grant", "add"], JSON.stringify(issued.serviceJson));
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r;
}

export function grantsPath(t: TestEnv): string {
  return join(t.home, ".vers", "grants.json");
}

/** The refresh tokens the grants file holds, by repository. */
export async function grantsOnDisk(t: TestEnv): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(grantsPath(t), "utf8");
  } catch {
    return {};
  }
  const data = JSON.parse(text) as { grants: Array<{ repository: string; refresh_token: string }> };
  return Object.fromEntries(data.grants.map((g) => [g.repository, g.refresh_token]));
}

/** credential.useHttpPath for the git host: git sends path=owner/repo.git. */
export async function perRepo(t: TestEnv, world: GrantWorld): Promise<void> {
  const r = await git(t, ["config", "--global", `credential.https://${world.gitHost.host}.useHttpPath`, "true"]);
  expect(r.code).toBe(0);
}

/** git's request for the host, with a path when given. */
export function gitRequest(world: GrantWorld, fields: Record<string, string> = {}): string {
  const all = { protocol: "https", host: world.gitHost.host, ...fields };
  return `${Object.entries(all).map(([k, v]) => `${k}=${v}`).join("\n")}\n\n`;
}

/** Counts what the service is asked from now on. */
export function serviceCounter(service: FakeGrantServer): { requests(): number; redemptions(): number } {
  const requests = service.requests.length;
  const redemptions = service.redemptions;
  return { requests: () => service.requests.length - requests, redemptions: () => service.redemptions - redemptions };
}

/** Runs git in `cwd` and expects it to succeed. */
export async function gitOk(t: TestEnv, args: string[], cwd?: string): Promise<RunResult> {
  const r = await run("git", args, { env: t.env, cwd: cwd ?? t.home });
  expect(r.code, `git ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r;
}
