import { columns } from "../columns";
import { GRANT_COLUMNS, grantRow } from "../grants/summary";
import type { Status } from "./collect";

/** The human `status`: a compact table; colour only when `color` (stdout is a terminal). */
export function renderStatus(s: Status, color: boolean): string {
  const paint = (code: number) => (text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const green = paint(32);
  const red = paint(31);
  const dim = paint(2);
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`${label.padEnd(9)}${text}`);

  row("version", s.version);
  const src = s.source;
  if (src.error) row("source", red(`${src.kind}: ${src.error}`));
  else if (src.kind === "broker") row("source", `broker ${src.baseUrl}, key ${src.key} from ${src.keyFrom}`);
  else if (src.kind === "github-app") row("source", `github-app ${src.apiUrl}, app ${src.appId}, key from ${src.keyFrom ?? "nowhere"}, installation ${src.installationId ?? "found per owner"}`);
  else if (src.kind === "grant") row("source", `grant: ${src.grants} refresh grant${src.grants === "1" ? "" : "s"} held${src.file ? `, file ${src.file}` : ""}`);
  else row("source", `static token ${src.key} from ${src.keyFrom} (not cached, no expiry)`);
  if (s.grants?.length) lines.push(...columns(s.grants.map(grantRow), GRANT_COLUMNS));
  const st = s.settings;
  row("hosts", `${st.hosts.join(", ")}  ${dim(`profile ${st.profile ?? "none"}, refresh margin ${st.refreshMarginSeconds} s, timeout ${st.timeoutSeconds} s${st.fallback ? ", fallback static" : ""}`)}`);
  const c = s.cache;
  row("cache", `${c.dir}  ${c.exists ? `mode ${c.mode}, uid ${c.uid}` : dim("not created yet")}${c.usable ? "" : red("  not used")}`);
  const fleetColumn = s.fleet ? (e: (typeof c.entries)[number]) => [e.inFleet ? "yes" : "no"] : () => [];
  lines.push(
    ...table(
      c.entries.map((e) => [e.host, scopeText(e.owner, e.repositories), permissionsText(e.permissions), left(e.secondsLeft, e.state), e.token, ...fleetColumn(e)]),
      ["HOST", "SCOPE", "PERMISSIONS", "LEFT", "TOKEN", ...(s.fleet ? ["IN REDIS"] : [])],
    ),
  );
  if (s.fleet) row("fleet", `${s.fleet.url}  ${s.fleet.reachable ? green(`reachable${s.fleet.topology ? ` (${s.fleet.topology})` : ""}`) : red(`not usable: ${s.fleet.problem ?? "unknown"}`)}`);
  for (const name of c.unreadable) lines.push(`  ${dim(`${name}: unreadable, treated as a miss`)}`);
  for (const w of s.git) {
    const state = !w.wired ? red("not wired") : w.commandProblem ? red(`wired, but ${w.commandProblem}`) : !w.answersFor.includes(w.host) ? red(`wired, but the helper answers only for ${w.answersFor.join(", ") || "no host"}`) : w.others.length ? red(`wired, but also ${w.others.join(", ")}`) : green("wired");
    const path = !w.wired ? "" : w.fastPath ? dim(` (fast path: ${w.daemonToken ? `its daemon holds ${w.daemonToken}` : "no token held yet"})`) : dim(" (plain line, no fast path)");
    row("git", `https://${w.host}: ${state}${path}`);
  }
  if (s.check) row("check", s.check.ok ? green(`${s.check.message} in ${s.check.ms} ms`) : red(s.check.message));
  for (const p of s.problems) lines.push(`${red("problem")}  ${p.what} (${p.fix})`);
  for (const w of s.warnings) lines.push(`${paint(33)("warning")}  ${w.what} (${w.fix})`);
  if (s.ok) lines.push(green("ok"));
  return lines.join("\n") + "\n";
}

function table(rows: string[][], header: string[]): string[] {
  return rows.length === 0 ? ["  (no cached tokens)"] : columns(rows, header);
}

function scopeText(owner: string | null, repositories: string[]): string {
  if (repositories.length === 0) return "every repository";
  return repositories.map((r) => (owner ? `${owner}/${r}` : r)).join(",");
}

/** Write permissions first; more than three are summed up (`status --json` lists them all). */
function permissionsText(permissions: Record<string, string>): string {
  const list = Object.entries(permissions)
    .sort(([, a], [, b]) => (a === b ? 0 : a === "write" ? -1 : 1))
    .map(([k, v]) => `${k}:${v}`);
  if (list.length === 0) return "installation default";
  return list.length > 3 ? `${list.slice(0, 3).join(",")} +${list.length - 3} more` : list.join(",");
}

function left(seconds: number, state: string): string {
  if (state === "expired") return "expired";
  const text = seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s` : `${seconds}s`;
  return state === "refresh-due" ? `${text} (refresh due)` : text;
}
