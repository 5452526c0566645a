import { HelperError } from "../../errors";
import type { Scope } from "../../scope";
import type { Trace } from "../../trace";
import type { Memo } from "../types";
import type { GitHubClient, Read, Reply } from "./client";
import { notInstalled } from "./errors";

/** The installation a token is minted from. */
export interface Installation {
  id: number;
  /** Where it was found ("acme/widgets", "acme"), named when GitHub no longer knows it; undefined when given. */
  target?: string;
  /** Came from the memo: a 404 on minting means it is stale, so look it up again. */
  fromMemo: boolean;
}

export interface FindOptions {
  appId: string;
  /** GITHUB_INSTALLATION_ID, as set. */
  installationId?: string;
  memo?: Memo;
  /** Ignore what the memo says (it was stale), but still write the new answer to it. */
  skipMemo?: boolean;
  trace: Trace;
}

/**
 * GITHUB_INSTALLATION_ID if set; else, for a repository, the installation on it (falling back on 404
 * to its owner as an organisation, then as a user); else the app's only installation. Answers are
 * memoised per owner, so the next miss for the same owner asks GitHub for the token only.
 */
export async function findInstallation(client: GitHubClient, scope: Scope, o: FindOptions): Promise<Installation> {
  if (o.installationId !== undefined) return { id: parseInstallationId(o.installationId), fromMemo: false };
  const target = scope.owner ? (scope.repositories.length === 1 ? `${scope.owner}/${scope.repositories[0]}` : scope.owner) : undefined;
  const memoKey = scope.owner ? `owner:${scope.owner.toLowerCase()}` : "only";
  const remembered = o.skipMemo ? undefined : Number(o.memo?.get(memoKey) ?? NaN);
  if (remembered !== undefined && isId(remembered)) {
    o.trace(`installation ${remembered} for ${target ?? "the app"} (memo)`);
    return { id: remembered, target, fromMemo: true };
  }
  const id = scope.owner ? await byOwner(client, scope.owner, scope.repositories, o.appId) : await onlyInstallation(client, o.appId);
  o.trace(`installation ${id} for ${target ?? "the app"} (looked up)`);
  o.memo?.set(memoKey, String(id));
  return { id, target, fromMemo: false };
}

async function byOwner(client: GitHubClient, owner: string, repositories: string[], appId: string): Promise<number> {
  const target = repositories.length === 1 ? `${owner}/${repositories[0]}` : owner;
  const routes: Array<[string, Record<string, string>]> = [
    ["GET /orgs/{org}/installation", { org: owner }],
    ["GET /users/{username}/installation", { username: owner }],
  ];
  if (repositories.length === 1) routes.unshift(["GET /repos/{owner}/{repo}/installation", { owner, repo: repositories[0]! }]);
  for (const [route, params] of routes) {
    const id = await client.call<number | undefined>({
      route,
      params,
      subject: { what: `the GitHub App's installation on ${target}`, target, appId },
      read: readInstallation,
      on404: () => undefined,
    });
    if (id !== undefined) return id;
  }
  throw notInstalled(target);
}

async function onlyInstallation(client: GitHubClient, appId: string): Promise<number> {
  const all = await client.call({
    route: "GET /app/installations",
    params: { per_page: 100 },
    subject: { what: "the GitHub App's installations", appId },
    read: readInstallations,
  });
  if (all.length === 1) return all[0]!.id;
  if (all.length === 0) {
    throw new HelperError(
      "not-found",
      `the GitHub App (app ${appId}) is not installed anywhere (HTTP 200 from GET /app/installations: none)`,
      "install it on an account or organisation: the app's settings, Install App",
    );
  }
  const names = all.slice(0, 5).map((i) => i.account).join(", ");
  throw new HelperError(
    "bad-setting",
    `the GitHub App has ${all.length} installations (${names}${all.length > 5 ? ", …" : ""}) and git sent no repository path to choose one`,
    "set GITHUB_INSTALLATION_ID, or run `git config --global credential.useHttpPath true` so git sends the repository",
  );
}

function readInstallation(reply: Reply): Read<number> {
  const id = (reply.data as { id?: unknown } | null)?.id;
  return isId(id) ? { value: id } : { invalid: "no installation id" };
}

function readInstallations(reply: Reply): Read<Array<{ id: number; account: string }>> {
  if (!Array.isArray(reply.data)) return { invalid: "not a list of installations" };
  const out: Array<{ id: number; account: string }> = [];
  for (const item of reply.data as Array<{ id?: unknown; account?: { login?: unknown } } | null>) {
    if (!isId(item?.id)) return { invalid: "an installation without an id" };
    const login = item.account?.login;
    out.push({ id: item.id, account: typeof login === "string" ? login : `#${item.id}` });
  }
  return { value: out };
}

function parseInstallationId(text: string): number {
  const id = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!isId(id)) {
    throw new HelperError("bad-setting", `GITHUB_INSTALLATION_ID "${text.slice(0, 40)}" is not an installation id`, "use the number at the end of the installation's settings URL, or unset it to look it up");
  }
  return id;
}

function isId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}
