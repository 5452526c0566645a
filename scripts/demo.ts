/**
 * `npm run demo`: the helper's main job, end to end, on loopback only. A fake Vers broker and a
 * TLS git host (git http-backend behind Basic auth, accepting only tokens the broker minted) start
 * on 127.0.0.1; a temporary HOME is wired to the built helper with its own `install`; then git
 * clones, commits, pushes and fetches, and the demo shows how many tokens were minted and `status`.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HELPER_BIN, makeTestEnv, run, type RunResult, type TestEnv } from "../test/e2e/harness";
import { startFakeBroker } from "../test/servers/fake-broker";
import { startGitHost } from "../test/servers/git-host";
import { TokenRegistry } from "../test/servers/token-registry";

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

async function main(): Promise<void> {
  const registry = new TokenRegistry();
  const apiKey = `vers_demo_${randomBytes(12).toString("hex")}`;
  const broker = await startFakeBroker({ apiKey, registry });
  const host = await startGitHost({ registry });
  const env = await makeTestEnv({ brokerUrl: broker.url, apiKey, hosts: [host.host], caFile: host.caFile, wireGit: false });
  // The trace counts how often git started the helper itself (it is not part of the fast path's fingerprint).
  const trace = join(env.home, "trace.log");
  env.env.VERS_CREDENTIAL_TRACE = trace;
  try {
    const remote = await host.createRepo("acme", "widgets");
    console.log(`fake Vers broker   ${broker.url}   (loopback only)`);
    console.log(`TLS git host       ${host.url}   (git http-backend behind Basic auth)`);
    console.log(`temporary HOME     ${env.home}\n`);

    const work = join(env.home, "widgets");
    await step(env, broker, "install", HELPER_BIN, ["install", "--global"]);
    await step(env, broker, "configure", "git", ["config", "--global", "user.name", "Demo"]);
    await step(env, broker, "configure", "git", ["config", "--global", "user.email", "demo@example.invalid"]);
    await step(env, broker, "clone", "git", ["clone", remote, work]);
    await writeFile(join(work, "HELLO.md"), `Pushed with a token from git-credential-vers at ${new Date().toISOString()}\n`);
    await step(env, broker, "commit", "git", ["-C", work, "add", "HELLO.md"]);
    await step(env, broker, "commit", "git", ["-C", work, "commit", "-q", "-m", "Say hello"]);
    await step(env, broker, "push", "git", ["-C", work, "push", "-q", "origin", "HEAD:main"]);
    await step(env, broker, "fetch", "git", ["-C", work, "fetch", "-q", "origin"]);

    const helperRuns = (await readFile(trace, "utf8")).split("\n").filter((l) => / matched /.test(l)).length;
    console.log(`\n${bold(`Tokens minted: ${broker.mints}`)} for clone, push and fetch.`);
    console.log(`git asked for credentials ${host.refused} times (after its first, anonymous try of each command got a 401).`);
    console.log(`The helper itself ran ${helperRuns} time${helperRuns === 1 ? "" : "s"}; git's own credential-cache daemon (the fast path) answered the rest,`);
    console.log(`with the token the helper handed it, until that token's refresh point.\n`);
    const status = await run(HELPER_BIN, ["status"], { env: env.env, cwd: env.home });
    process.stdout.write(status.stdout);
  } finally {
    await env.cleanup();
    await host.close();
    await broker.close();
  }
}

async function step(env: TestEnv, broker: { mints: number }, label: string, cmd: string, args: string[]): Promise<RunResult> {
  const result = await run(cmd, args, { env: env.env, cwd: env.home });
  const shown = `${cmd === HELPER_BIN ? "git-credential-vers" : cmd} ${args.join(" ")}`.replace(env.home, "~");
  if (result.code !== 0) {
    console.log(`✗ ${label.padEnd(9)} ${shown}\n${result.stderr}`);
    throw new Error(`${label} failed`);
  }
  console.log(`✓ ${label.padEnd(9)} ${shown.padEnd(60)} tokens minted: ${broker.mints}`);
  return result;
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
