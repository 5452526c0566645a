import { HelperError } from "../errors";
import { describeGrant, ENV_GRANT_ORIGIN, grantIdOf, type Grant } from "../grants/grant";
import type { Scope } from "../scope";
import type { Token } from "../token";
import { USER_AGENT } from "../version";
import { oauthError, readGrantAnswer, rotatedGrant } from "./grant-answer";
import { redirectTarget, type HttpAnswer, type Transport } from "./http";
import { transientVerdict, withRetries, type Verdict } from "./retry";
import type { MintContext, Source } from "./types";

export const GRANT_LABEL = "the grant service";

export const FORM_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/x-www-form-urlencoded",
  accept: "application/json",
  "user-agent": USER_AGENT,
};

/**
 * A refresh grant, redeemed at its token endpoint (RFC 6749 §6): POST grant_type=refresh_token, the
 * grant, and client_id when known; no Authorization header. A new refresh_token in an answer is handed
 * to `ctx.onRotated` at once and used for any further try: the service has retired the old one.
 */
export function grantSource(grant: Grant, http: Transport): Source {
  return {
    async mint(_scope: Scope, ctx: MintContext): Promise<Token> {
      let current = grant.refreshToken.value;
      ctx.trace(`redeeming ${describeGrant(grant)} at ${grant.tokenEndpoint}`);
      return withRetries({
        label: GRANT_LABEL,
        origin: new URL(grant.tokenEndpoint).origin,
        deadline: ctx.deadline,
        trace: ctx.trace,
        maxAttempts: ctx.maxAttempts,
        attempt: async () => {
          const sentAt = ctx.now();
          const answer = await http.send({ url: grant.tokenEndpoint, method: "POST", headers: { ...FORM_HEADERS }, body: formBody({ grant_type: "refresh_token", refresh_token: current, client_id: grant.clientId }) });
          const rotated = answer.status === 200 ? rotatedGrant(answer.text, current) : undefined;
          if (rotated) {
            ctx.trace(`the grant service rotated ${grantIdOf(current)}; keeping the new grant ${grantIdOf(rotated)}`);
            current = rotated;
            await ctx.onRotated?.(rotated);
          }
          return judge(answer, grant, sentAt, ctx.now(), current);
        },
      });
    },
  };
}

/** application/x-www-form-urlencoded, fields left out when undefined. */
export function formBody(fields: Record<string, string | undefined>): string {
  const defined = Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined);
  return new URLSearchParams(defined).toString();
}

function judge(answer: HttpAnswer, grant: Grant, sentAt: number, now: number, sent: string): Verdict<Token> {
  const { status } = answer;
  if (status === 200) {
    const token = readGrantAnswer(answer.text, sentAt, grant.repository);
    return typeof token === "string" ? { kind: "bad-answer", status, detail: token } : { kind: "done", value: token };
  }
  return transientVerdict(answer, now) ?? refused(answer, grant, grant.tokenEndpoint, sent);
}

/**
 * A final answer, thrown: a redirect (never followed), invalid_grant (the grant is revoked, expired or
 * unknown: a new one is needed), any other 400/401 with the service's own words, or another status.
 */
export function refused(answer: HttpAnswer, grant: Grant, url: string, sent = grant.refreshToken.value): never {
  const { status } = answer;
  if (status >= 300 && status < 400) {
    throw new HelperError("bad-answer", `${GRANT_LABEL} redirected to ${redirectTarget(answer.headers, url)} (HTTP ${status}); not followed`, "point the grant at the token endpoint itself (git-credential-vers grant list shows it)", status);
  }
  const { error, description } = oauthError(answer.text, grantSecrets(sent, grant.refreshToken.value));
  const seen = `HTTP ${status}${error ? ` ${error}` : ""}${description ? `: ${description}` : ""}`;
  if (error === "invalid_grant") {
    throw new HelperError("invalid-grant", `the grant for ${grant.repository} (${grantIdOf(grant.refreshToken.value)}) is no longer valid (${seen})`, newGrantHint(grant), status);
  }
  if (status === 400 || status === 401) {
    throw new HelperError(status === 401 ? "unauthorized" : "invalid-request", `${GRANT_LABEL} refused ${describeGrant(grant)} (${seen})`, "check the grant's token endpoint and client id: git-credential-vers grant list", status);
  }
  throw new HelperError("bad-answer", `${GRANT_LABEL} answered ${seen}`, `check the grant's token endpoint ${grant.tokenEndpoint}`, status);
}

function newGrantHint(grant: Grant): string {
  const ask = "it was revoked or has expired: ask the service that issued it for a new grant";
  return grant.refreshToken.origin === ENV_GRANT_ORIGIN ? `${ask} and set VERS_REFRESH_TOKEN` : `${ask} and pipe it to git-credential-vers grant add`;
}

/** What a server must not have quoted back: the grants sent, and each one's secret part (ghr_<id>.<secret>) alone. */
function grantSecrets(...grants: string[]): string[] {
  return grants.flatMap((g) => [g, /^ghr_[^.]*\.(.+)$/.exec(g)?.[1] ?? ""]);
}
