import { createAppAuth } from "@octokit/auth-app";
import { request as octokitRequest } from "@octokit/request";
import { HelperError } from "../../errors";
import { USER_AGENT } from "../../version";
import { redirectTarget, TransportError, type Transport } from "../http";
import { withRetries, type Verdict } from "../retry";
import type { MintContext } from "../types";
import { judgeRefusal, readFailure, type CallSubject } from "./errors";

/** A successful answer, as @octokit/request read it (data: parsed JSON, or text for other content types). */
export interface Reply {
  status: number;
  headers: Record<string, string | undefined>;
  data: unknown;
}

/** What an answer holds, or why it cannot be used (an invalid answer: tried once more). */
export type Read<T> = { value: T } | { invalid: string };

export interface CallSpec<T> {
  /** An @octokit/request route, e.g. "GET /repos/{owner}/{repo}/installation". */
  route: string;
  params?: Record<string, unknown>;
  subject: CallSubject;
  read(reply: Reply): Read<T>;
  /** When set, a 404 is an answer (the installation look-ups fall back on it), not an error. */
  on404?: () => T;
}

export interface GitHubClient {
  call<T>(spec: CallSpec<T>): Promise<T>;
}

export interface ClientOptions {
  apiUrl: string;
  appId: string;
  privateKeyPem: string;
  ctx: MintContext;
  http: Transport;
}

/**
 * GitHub's REST API as the GitHub App: every call goes through auth-app's hook, which signs a JWT
 * for it and, when GitHub answers 401 over a clock skew, signs again using GitHub's Date header.
 * Each call retries within the deadline (withRetries, label "GitHub").
 */
export function gitHubClient(opts: ClientOptions): GitHubClient {
  const { ctx } = opts;
  const log = { warn: (message: string) => ctx.trace(`auth-app: ${message}`) };
  const request = octokitRequest.defaults({
    baseUrl: opts.apiUrl,
    headers: { "user-agent": USER_AGENT, "x-github-api-version": "2022-11-28" },
    request: { fetch: opts.http.fetch, log },
  });
  const auth = createAppAuth({ appId: opts.appId, privateKey: opts.privateKeyPem, request, log });

  async function attempt<T>(spec: CallSpec<T>): Promise<Verdict<T>> {
    let reply: Reply;
    try {
      const res = await auth.hook(request, spec.route, spec.params ?? {});
      reply = { status: res.status, headers: res.headers as Reply["headers"], data: res.data as unknown };
    } catch (err) {
      const failure = readFailure(err);
      if (failure instanceof TransportError) throw failure;
      if (failure.status === 404 && spec.on404) return { kind: "done", value: spec.on404() };
      return judgeRefusal(failure, spec.subject, ctx.now());
    }
    if (reply.status >= 300 && reply.status < 400) {
      const target = redirectTarget(reply.headers, opts.apiUrl);
      throw new HelperError("bad-answer", `GitHub redirected ${spec.subject.what} to ${target} (HTTP ${reply.status}); not followed`, "check GITHUB_API_URL (GitHub Enterprise Server: https://HOST/api/v3)", reply.status);
    }
    const read = spec.read(reply);
    return "invalid" in read ? { kind: "bad-answer", status: reply.status, detail: read.invalid } : { kind: "done", value: read.value };
  }

  return {
    call: <T>(spec: CallSpec<T>) =>
      withRetries({
        label: "GitHub",
        origin: opts.apiUrl,
        deadline: ctx.deadline,
        trace: ctx.trace,
        maxAttempts: ctx.maxAttempts,
        attempt: () => attempt(spec),
      }),
  };
}
