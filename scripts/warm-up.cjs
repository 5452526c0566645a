// Runs git's actions through dist/main.cjs in this process, so that the functions a cache hit, an
// erase, a non-matching get and a static token execute are compiled before scripts/code-cache.cjs
// saves main.cjs's code cache. The miss that fills the cache first runs in a child process: minting
// sets a V8 flag (sources/wasm-tier.ts), and a cache made under other flags is rejected. Everything
// stays in a temporary HOME; the only server is a loopback broker started here, answering one token.
"use strict";
const { execFile } = require("node:child_process");
const { mkdtempSync, rmSync } = require("node:fs");
const { createServer } = require("node:http");
const { tmpdir } = require("node:os");
const { join } = require("node:path");

/** A get that mints and writes the cache entry, through the helper in a process of its own. */
function miss(env, request) {
  const bin = join(__dirname, "..", "bin", "git-credential-vers");
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [bin, "get"], { env: { ...env, XDG_CACHE_HOME: join(env.HOME, ".cache") } }, (err) => (err ? reject(err) : resolve()));
    child.stdin.end(request);
  });
}

module.exports = async function warmUp(main) {
  const home = mkdtempSync(join(tmpdir(), "vers-warm-up-"));
  const broker = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ token: "ghs_warmUpWarmUpWarmUpWarmUpWarmUp0000", expires_at: new Date(Date.now() + 3600_000).toISOString() }));
    });
  });
  await new Promise((resolve) => broker.listen(0, "127.0.0.1", resolve));
  const env = { PATH: process.env.PATH, HOME: home, VERS_API_KEY: "vers_warm_up_key_0000000000", VERS_BASE_URL: `http://127.0.0.1:${broker.address().port}`, VERS_GITHUB_HOST: "github.com" };
  const base = main.processIo();
  const io = (input, extra = {}) =>
    Object.assign(Object.create(base), { env: { ...env, ...extra }, homedir: home, cacheDir: join(home, ".cache", "git-credential-vers"), readStdin: async () => input, stdout() {}, stderr() {} });
  try {
    const request = "protocol=https\nhost=github.com\n\n";
    await miss(env, request);
    await main.main(["get"], io("protocol=https\nhost=gitlab.com\n\n")); // no match
    await main.main(["get"], io(request)); // a hit
    await main.main(["erase"], io("protocol=https\nhost=github.com\npassword=not-it\n\n"));
    await main.main(["get"], io(request, { VERS_TOKEN_SOURCE: "static", GITHUB_TOKEN: "ghp_warmUpWarmUpWarmUp00" }));
    await main.main(["store"], io(request));
  } finally {
    await new Promise((resolve) => broker.close(resolve));
    rmSync(home, { recursive: true, force: true });
  }
};
