import type { Io } from "../io";
import { PROFILES } from "../profiles";

/** `profiles`: each permission profile and what it grants. */
export function runProfiles(io: Io, options: { json?: boolean }): void {
  if (options.json) {
    io.stdout(JSON.stringify(PROFILES, null, 2) + "\n");
    return;
  }
  const width = Math.max(...Object.keys(PROFILES).map((n) => n.length));
  for (const [name, permissions] of Object.entries(PROFILES)) {
    const list = Object.entries(permissions).map(([p, access]) => `${p}:${access}`);
    io.stdout(`${name.padEnd(width)}  ${list.join(" ")}\n`);
  }
}
