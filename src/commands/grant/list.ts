import { columns } from "../../columns";
import { heldGrants } from "../../grants/held";
import { GRANT_COLUMNS, grantRow, grantSummary } from "../../grants/summary";
import type { Io } from "../../io";

/** `grant list [--json]`: each grant held (file and environment), its id, endpoint, and of its secret only the last 4 characters. */
export function runGrantList(io: Io, options: { json?: boolean }): void {
  const held = heldGrants(io);
  const grants = held.grants.map(grantSummary);
  if (options.json) {
    io.stdout(JSON.stringify({ file: held.file?.path ?? null, grants }, null, 2) + "\n");
    return;
  }
  const where = held.file ? held.file.path : "no grants file: HOME is not an absolute path";
  if (grants.length === 0) {
    io.stdout(`no refresh grants are held (${where}); add one with: … | git-credential-vers grant add\n`);
    return;
  }
  io.stdout(`${grants.length} refresh grant${grants.length === 1 ? "" : "s"} (${where})\n${columns(grants.map(grantRow), GRANT_COLUMNS).join("\n")}\n`);
}
