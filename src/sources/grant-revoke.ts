import { describeGrant, revokeEndpointOf, type Grant } from "../grants/grant";
import { FORM_HEADERS, formBody, GRANT_LABEL, refused } from "./grant";
import { createTransport } from "./http";
import { transientVerdict, withRetries } from "./retry";
import type { MintContext } from "./types";

/**
 * Revokes a grant (RFC 7009): POST token=<ghr_…>&token_type_hint=refresh_token (and client_id when
 * known) to its revoke endpoint. 200 means revoked, whatever the grant's state was; the body is ignored.
 * 429 and 5xx are retried within the deadline, then thrown: the grant may still be valid.
 */
export async function revokeGrant(grant: Grant, ctx: Omit<MintContext, "memo" | "onRotated">): Promise<void> {
  const http = createTransport(ctx.env, ctx.deadline, ctx.trace);
  const url = revokeEndpointOf(grant);
  ctx.trace(`revoking ${describeGrant(grant)} at ${url}`);
  try {
    await withRetries({
      label: GRANT_LABEL,
      origin: new URL(url).origin,
      deadline: ctx.deadline,
      trace: ctx.trace,
      maxAttempts: ctx.maxAttempts,
      attempt: async () => {
        const body = formBody({ token: grant.refreshToken.value, token_type_hint: "refresh_token", client_id: grant.clientId });
        const answer = await http.send({ url, method: "POST", headers: { ...FORM_HEADERS }, body });
        if (answer.status === 200) return { kind: "done", value: undefined };
        return transientVerdict(answer, ctx.now()) ?? refused(answer, grant, url);
      },
    });
  } finally {
    await http.close();
  }
}
