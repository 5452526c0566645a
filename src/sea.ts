/**
 * Entry of the single executable (Node's SEA): the same program as bin/git-credential-vers,
 * bundled into one file with its lazy parts, since a SEA can require only Node's built-ins.
 */
import { isGitStore } from "./argv";
import { main, processIo } from "./main";

// git runs `store` after every success; it is a no-op, so answer before doing anything.
const args = process.argv.slice(2);
if (!isGitStore(args)) {
  void main(args, processIo()).then((code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 100).unref();
  });
}
