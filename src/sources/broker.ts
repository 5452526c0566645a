import { HelperError } from "../errors";
import { withoutAdministrationWrite } from "../profiles";
import { describeScope, type Scope } from "../scope";
import type { Token } from "../token";
import { USER_AGENT } from "../version";
import { errorText, readTokenAnswer } from "./answer";
import { redirectTarget, type HttpAnswer, type Transport } from "./http";
import { transientVerdict, withRetries, type Verdict } from "./retry";
import type { MintContext, Source } from "./types";

export interface BrokerConfig {
  baseUrl: string;
  apiKey: string;
}

const LABEL = "the broker";

/** The Vers broker: POST {base}/api/github/installation-token with the Vers API key. */
export function brokerSource(config: BrokerConfig, http: Transport): Source {
  return {
    async mint(scope: Scope, ctx: MintContext): Promise<Token> {
      const body = requestBody(scope);
      ctx.trace(`asking the broker at ${config.baseUrl} for ${describeScope(scope)}${body ? ` ${body}` : " (org-wide, no body)"}`);
      const headers: Record<string, string> = {
        authorization: `Bearer ${config.apiKey}`,
        "user-agent": USER_AGENT,
        accept: "application/json",
      };
      if (body) headers["content-type"] = "application/json";
      const url = `${config.baseUrl}/api/github/installation-token`;
      return withRetries({
        label: LABEL,
        origin: config.baseUrl,
        deadline: ctx.deadline,
        trace: ctx.trace,
        maxAttempts: ctx.maxAttempts,
        attempt: async () => judge(await http.send({ url, method: "POST", headers, body }), scope, url, ctx.now(), config.apiKey),
      });
    },
  };
}

/** Empty for an org-wide token with the installation's permissions; never administration: write. */
export function requestBody(scope: Scope): string | undefined {
  const body: { repositories?: string[]; permissions?: Record<string, string> } = {};
  if (scope.repositories.length) body.repositories = [...scope.repositories];
  if (scope.permissions) body.permissions = withoutAdministrationWrite(scope.permissions);
  return Object.keys(body).length ? JSON.stringify(body) : undefined;
}

function judge(answer: HttpAnswer, scope: Scope, url: string, now: number, apiKey: string): Verdict<Token> {
  const { status } = answer;
  if (status === 200 || status === 201) {
    const token = readTokenAnswer(answer.text, now);
    return typeof token === "string" ? { kind: "bad-answer", status, detail: token } : { kind: "done", value: token };
  }
  const transient = transientVerdict(answer, now);
  if (transient) return transient;
  if (status >= 300 && status < 400) {
    throw new HelperError("bad-answer", `the broker redirected to ${redirectTarget(answer.headers, url)} (HTTP ${status}); not followed`, "point VERS_BASE_URL at the broker itself", status);
  }
  throw refusal(status, errorText(answer.text, [apiKey]), scope);
}

function refusal(status: number, message: string, scope: Scope): HelperError {
  const said = message ? `: ${message}` : "";
  const what = describeScope(scope);
  switch (status) {
    case 401:
      return new HelperError("unauthorized", "the broker rejected VERS_API_KEY (HTTP 401)", "check the key; `git-credential-vers status` shows where it was found", status);
    case 403:
      return new HelperError("forbidden", `the broker refused a token for ${what} (HTTP 403${said})`, "the GitHub App may not reach that repository or grant those permissions; try another --profile", status);
    case 404:
      return new HelperError("not-found", `no GitHub App installation or repository for ${what} (HTTP 404${said})`, "install the GitHub App on that repository or organisation", status);
    case 400:
    case 422:
      return new HelperError("invalid-request", `the broker refused the request for ${what} (HTTP ${status}${said})`, "check the repository name and --profile", status);
    default:
      return new HelperError("bad-answer", `the broker answered HTTP ${status}${said}`, "check that VERS_BASE_URL points at the Vers broker", status);
  }
}
