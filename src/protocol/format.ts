/** What `get` hands back to git. */
export interface CredentialAnswer {
  username: string;
  password: string;
  /** Unix seconds; omitted when unknown (a static token). */
  passwordExpiryUtc?: number;
}

export function formatAnswer(answer: CredentialAnswer): string {
  const lines = [`username=${answer.username}`, `password=${answer.password}`];
  if (answer.passwordExpiryUtc !== undefined) lines.push(`password_expiry_utc=${answer.passwordExpiryUtc}`);
  return lines.join("\n") + "\n";
}

/** Tells git to stop trying other helpers and not to prompt (used with --strict). */
export const QUIT = "quit=1\n";
