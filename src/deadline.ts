/** One hard deadline for a whole `get`: retries, back-offs and lock waits all fit inside it. */
export class Deadline {
  constructor(
    readonly at: number,
    private readonly now: () => number,
  ) {}

  static in(ms: number, now: () => number): Deadline {
    return new Deadline(now() + ms, now);
  }

  remaining(): number {
    return Math.max(0, this.at - this.now());
  }

  /** A deadline no later than this one and at most `ms` from now. */
  within(ms: number): Deadline {
    return new Deadline(Math.min(this.at, this.now() + ms), this.now);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
