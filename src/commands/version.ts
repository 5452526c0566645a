import type { Io } from "../io";
import { COMMIT, VERSION } from "../version";

/** `version`: what was built, from which commit, and what it runs on (`--version` prints the bare version). */
export function runVersion(io: Io): void {
  io.stdout(`git-credential-vers ${VERSION}\ncommit ${COMMIT}\nnode ${process.version}\nplatform ${process.platform}-${process.arch}\n`);
}
