import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Deadline } from "../../src/deadline";
import { HelperError } from "../../src/errors";
import { TransportError } from "../../src/sources/http";
import { jitteredBackoff, retryAfterMs, withRetries, type RetryOptions, type Verdict } from "../../src/sources/retry";

const START = Date.UTC(2030, 0, 1, 12, 0, 0);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/**
 * Runs withRetries on a scripted list of outcomes (a verdict, or an error to throw), recording when
 * each attempt started (ms after START). The last outcome repeats. Time only moves by fake timers.
 */
function run<T = string>(
  outcomes: (Verdict<T> | Error)[],
  options: Partial<Omit<RetryOptions<T>, "attempt">> & { timeoutMs?: number } = {},
) {
  const times: number[] = [];
  const traced: string[] = [];
  const { timeoutMs = 15_000, ...rest } = options;
  const promise = withRetries<T>({
    label: "the broker",
    origin: "https://vers.sh",
    deadline: Deadline.in(timeoutMs, () => Date.now()),
    trace: (m) => traced.push(m),
    maxAttempts: Number.POSITIVE_INFINITY,
    ...rest,
    attempt: async () => {
      const outcome = outcomes[Math.min(times.length, outcomes.length - 1)]!;
      times.push(Date.now() - START);
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  });
  // Keep an early rejection from being reported as unhandled before the test awaits it.
  promise.catch(() => undefined);
  return { promise, times, traced };
}

async function settle<T>(promise: Promise<T>, ms = 60_000): Promise<{ value?: T; error?: unknown }> {
  const outcome = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await vi.advanceTimersByTimeAsync(ms);
  return outcome;
}

const unavailable = (status = 503): Verdict<string> => ({ kind: "unavailable", status });
const done = (value = "ghs_token"): Verdict<string> => ({ kind: "done", value });
const badAnswer = (detail = "not JSON"): Verdict<string> => ({ kind: "bad-answer", status: 200, detail });
const rateLimited = (waitMs: number): Verdict<string> => ({ kind: "rate-limited", status: 429, waitMs });

describe("withRetries: success", () => {
  it("returns the first done value without waiting", async () => {
    const { promise, times } = run([done("first")]);
    await expect(promise).resolves.toBe("first");
    expect(times).toEqual([0]);
  });
});

describe("withRetries: 5xx", () => {
  it("retries with growing back-off until it works", async () => {
    const { promise, times, traced } = run([unavailable(), unavailable(502), unavailable(), done()], { backoff: (n) => 100 * 2 ** n });
    const { value } = await settle(promise);
    expect(value).toBe("ghs_token");
    expect(times).toEqual([0, 200, 600, 1400]);
    expect(traced).toEqual([
      "the broker: HTTP 503 on try 1; trying again in 200 ms",
      "the broker: HTTP 502 on try 2; trying again in 400 ms",
      "the broker: HTTP 503 on try 3; trying again in 800 ms",
    ]);
  });

  it("gives up when the next back-off would not fit in the deadline, naming the status and tries", async () => {
    const { promise, times } = run([unavailable()], { backoff: (n) => 1000 * n, timeoutMs: 15_000 });
    const { error } = await settle(promise);
    // tries at 0, 1000, 3000, 6000, 10000; the fifth back-off (5000 ms) does not fit in the 5000 ms left.
    expect(times).toEqual([0, 1000, 3000, 6000, 10_000]);
    expect(error).toBeInstanceOf(HelperError);
    expect(error).toMatchObject({
      code: "unavailable",
      status: 503,
      what: "the broker is unavailable (HTTP 503 after 5 tries)",
      hint: "try again later; https://vers.sh may be down",
    });
  });

  it("with the default jittered back-off: waits grow and stay within the deadline", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const { promise, times } = run([unavailable()], { timeoutMs: 15_000 });
    const { error } = await settle(promise);
    const waits = times.slice(1).map((t, i) => t - times[i]!);
    expect(waits).toEqual([125, 250, 500, 1000, 1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500]);
    expect(times.at(-1)).toBe(13_875);
    expect((error as HelperError).what).toBe("the broker is unavailable (HTTP 503 after 13 tries)");
  });

  it("names the last status it saw", async () => {
    const { promise } = run([unavailable(503), unavailable(500), unavailable(504)], { maxAttempts: 3, backoff: () => 10 });
    const { error } = await settle(promise);
    expect(error).toMatchObject({ code: "unavailable", status: 504, what: "the broker is unavailable (HTTP 504 after 3 tries)" });
  });

  it("maxAttempts 1 means one try", async () => {
    const { promise, times } = run([unavailable(), done()], { maxAttempts: 1 });
    const { error } = await settle(promise);
    expect(times).toEqual([0]);
    expect(error).toMatchObject({ code: "unavailable", what: "the broker is unavailable (HTTP 503 after 1 try)" });
  });

  it("maxAttempts 3 means three tries, even with time left", async () => {
    const { promise, times } = run([unavailable()], { maxAttempts: 3, backoff: () => 100 });
    const { error } = await settle(promise);
    expect(times).toEqual([0, 100, 200]);
    expect((error as HelperError).what).toBe("the broker is unavailable (HTTP 503 after 3 tries)");
  });
});

describe("withRetries: 429", () => {
  it("waits Retry-After when it fits the deadline, then tries again", async () => {
    const { promise, times, traced } = run([rateLimited(4000), done()]);
    const { value } = await settle(promise);
    expect(value).toBe("ghs_token");
    expect(times).toEqual([0, 4000]);
    expect(traced).toEqual(["the broker: HTTP 429 on try 1; trying again in 4000 ms"]);
  });

  it("fails at once with rate-limited when Retry-After does not fit the deadline", async () => {
    const { promise, times } = run([rateLimited(60_000), done()], { timeoutMs: 15_000 });
    const { error } = await settle(promise, 0);
    expect(times).toEqual([0]);
    expect(error).toBeInstanceOf(HelperError);
    expect(error).toMatchObject({
      code: "rate-limited",
      status: 429,
      what: "the broker is rate limiting requests (HTTP 429, retry after 60 s)",
      hint: "wait and try again",
    });
  });

  it("a wait exactly as long as the time left does not fit", async () => {
    const { promise, times } = run([rateLimited(15_000), done()], { timeoutMs: 15_000 });
    const { error } = await settle(promise, 0);
    expect(times).toEqual([0]);
    expect(error).toMatchObject({ code: "rate-limited", what: "the broker is rate limiting requests (HTTP 429, retry after 15 s)" });
  });

  it("rounds the wait up to whole seconds in the message", async () => {
    const { promise } = run([rateLimited(20_001)], { timeoutMs: 15_000 });
    const { error } = await settle(promise, 0);
    expect((error as HelperError).what).toBe("the broker is rate limiting requests (HTTP 429, retry after 21 s)");
  });

  it("with maxAttempts 1 fails at once even when the wait would fit", async () => {
    const { promise, times } = run([rateLimited(1000), done()], { maxAttempts: 1 });
    const { error } = await settle(promise, 0);
    expect(times).toEqual([0]);
    expect(error).toMatchObject({ code: "rate-limited", status: 429 });
  });
});

describe("withRetries: a bad answer", () => {
  it("is retried exactly once, at once", async () => {
    const { promise, times } = run([badAnswer(), done("second")]);
    const { value } = await settle(promise, 1);
    expect(value).toBe("second");
    expect(times).toEqual([0, 0]);
  });

  it("fails on the second bad answer, naming the broker and what was wrong", async () => {
    const { promise, times } = run([badAnswer("no token"), badAnswer("expires_at is already past"), done()]);
    const { error } = await settle(promise);
    expect(times).toEqual([0, 0]);
    expect(error).toBeInstanceOf(HelperError);
    expect(error).toMatchObject({
      code: "bad-answer",
      status: 200,
      what: "the broker sent an invalid answer (HTTP 200: expires_at is already past)",
      hint: "check that https://vers.sh is the right URL",
    });
  });

  it("counts bad answers across other failures", async () => {
    const { promise, times } = run([badAnswer(), unavailable(), badAnswer(), done()], { backoff: () => 100 });
    const { error } = await settle(promise);
    expect(times).toEqual([0, 0, 100]);
    expect(error).toMatchObject({ code: "bad-answer" });
  });

  it("with maxAttempts 1 is not retried", async () => {
    const { promise, times } = run([badAnswer(), done()], { maxAttempts: 1 });
    const { error } = await settle(promise);
    expect(times).toEqual([0]);
    expect(error).toMatchObject({ code: "bad-answer", what: "the broker sent an invalid answer (HTTP 200: not JSON)" });
  });
});

describe("withRetries: thrown errors", () => {
  it("a HelperError is not retried and comes out unchanged", async () => {
    const refusal = new HelperError("unauthorized", "the broker rejected VERS_API_KEY (HTTP 401)", "check VERS_API_KEY", 401);
    const { promise, times } = run([refusal, done()]);
    const { error } = await settle(promise);
    expect(error).toBe(refusal);
    expect(times).toEqual([0]);
  });

  it("any other error is not retried either", async () => {
    const bug = new TypeError("boom");
    const { promise, times } = run([bug, done()]);
    const { error } = await settle(promise);
    expect(error).toBe(bug);
    expect(times).toEqual([0]);
  });

  it.each([
    ["reset", "connection reset"],
    ["network", "network error EHOSTUNREACH"],
  ] as const)("a TransportError (%s) counts as unavailable and is retried with the back-off", async (reason, text) => {
    const { promise, times } = run([new TransportError(reason, "EHOSTUNREACH"), done()], { backoff: () => 250 });
    const { value } = await settle(promise);
    expect(value).toBe("ghs_token");
    expect(times).toEqual([0, 250]);

    const failing = run([new TransportError(reason, "EHOSTUNREACH")], { maxAttempts: 2, backoff: () => 250 });
    const { error } = await settle(failing.promise);
    expect(error).toBeInstanceOf(HelperError);
    expect(error).toMatchObject({ code: "unavailable", status: undefined, what: `the broker is unavailable (${text} after 2 tries)` });
  });

  it("a timeout with time left is retried as unavailable", async () => {
    const { promise, times } = run([new TransportError("timeout", "UND_ERR_HEADERS_TIMEOUT"), done()], { backoff: () => 500 });
    const { value } = await settle(promise);
    expect(value).toBe("ghs_token");
    expect(times).toEqual([0, 500]);
  });

  it("a timeout that used up the deadline is a timeout error", async () => {
    const deadline = Deadline.in(5000, () => Date.now());
    let tries = 0;
    const promise = withRetries<string>({
      label: "the broker",
      origin: "https://vers.sh",
      deadline,
      trace: () => {},
      maxAttempts: 10,
      attempt: async () => {
        tries++;
        vi.setSystemTime(deadline.at);
        throw new TransportError("timeout", "no time left");
      },
    });
    const { error } = await settle(promise, 0);
    expect(tries).toBe(1);
    expect(error).toBeInstanceOf(HelperError);
    expect(error).toMatchObject({
      code: "timeout",
      what: "the broker did not answer in time (1 try)",
      hint: "check the network to https://vers.sh, or raise --timeout / VERS_TIMEOUT",
    });
  });
});

describe("withRetries: refused connections and names that do not resolve", () => {
  it.each([
    ["refused", "ECONNREFUSED", "connection refused"],
    ["dns", "ENOTFOUND", "host not found (ENOTFOUND)"],
  ] as const)("%s: quick tries (100, 200, 400, 800 ms), 2 s in all, then unreachable", async (reason, code, text) => {
    const { promise, times, traced } = run([new TransportError(reason, code)], { backoff: () => 5000 });
    const { error } = await settle(promise);
    // The next wait (1600 ms) would end 3.1 s after the first failure: past the 2 s budget.
    expect(times).toEqual([0, 100, 300, 700, 1500]);
    expect(error).toBeInstanceOf(HelperError);
    expect(error).toMatchObject({
      code: "unreachable",
      status: undefined,
      what: `the broker is unreachable (${text} after 5 tries)`,
      hint: "check https://vers.sh and the network",
    });
    expect(traced[0]).toBe(`the broker: ${text} on try 1; trying again in 100 ms`);
  });

  it("refused, then an answer: served on the second try, 100 ms later", async () => {
    const { promise, times } = run([new TransportError("refused", "ECONNREFUSED"), done()]);
    const { value } = await settle(promise);
    expect(value).toBe("ghs_token");
    expect(times).toEqual([0, 100]);
  });

  it("with maxAttempts 1: unreachable after the one try", async () => {
    const { promise, times } = run([new TransportError("refused", "ECONNREFUSED"), done()], { maxAttempts: 1 });
    const { error } = await settle(promise);
    expect(times).toEqual([0]);
    expect(error).toMatchObject({ code: "unreachable", what: "the broker is unreachable (connection refused after 1 try)" });
  });

  it("refused after an HTTP 503: unreachable, keeping the 503 as its status", async () => {
    const { promise, times } = run([unavailable(503), new TransportError("refused", "ECONNREFUSED")], { backoff: () => 100 });
    const { error } = await settle(promise);
    // The quick tries count from the first refusal: 100, 200, 400, 800 ms after it, 2 s in all at most.
    expect(times).toEqual([0, 100, 200, 400, 800, 1600]);
    expect(error).toMatchObject({ code: "unreachable", status: 503 });
    expect((error as HelperError).what).toBe("the broker is unreachable (HTTP 503, then connection refused after 6 tries)");
  });
});

describe("withRetries: the deadline", () => {
  it("starts a try when 250 ms are left after the back-off", async () => {
    const { promise, times } = run([unavailable()], { timeoutMs: 1000, backoff: () => 750 });
    await settle(promise);
    expect(times).toEqual([0, 750]);
  });

  it("never starts a try with less than 250 ms left", async () => {
    const { promise, times } = run([unavailable()], { timeoutMs: 1000, backoff: () => 751 });
    const { error } = await settle(promise);
    expect(times).toEqual([0]);
    expect(error).toMatchObject({ code: "unavailable", status: 503, what: "the broker is unavailable (HTTP 503 after 1 try)" });
  });

  it("waits out a Retry-After that leaves 250 ms for the try", async () => {
    const { promise, times } = run([rateLimited(4750), done()], { timeoutMs: 5000 });
    expect((await settle(promise)).value).toBe("ghs_token");
    expect(times).toEqual([0, 4750]);
  });

  it("but not one that would leave less", async () => {
    const { promise, times } = run([rateLimited(4751), done()], { timeoutMs: 5000 });
    const { error } = await settle(promise);
    expect(times).toEqual([0]);
    expect(error).toMatchObject({ code: "rate-limited", status: 429 });
  });

  /** A try that ran into the deadline: the attempt moves the clock there and times out. */
  function timingOut(deadline: Deadline): Error {
    vi.setSystemTime(deadline.at);
    return new TransportError("timeout", "UND_ERR_HEADERS_TIMEOUT");
  }

  it("HTTP 503, then a try the deadline cuts off: unavailable, naming HTTP 503 and the timeout", async () => {
    const deadline = Deadline.in(5000, () => Date.now());
    const seen: string[] = [];
    const promise = withRetries<string>({
      label: "the broker",
      origin: "https://vers.sh",
      deadline,
      trace: () => {},
      maxAttempts: 100,
      backoff: () => 100,
      attempt: async () => {
        seen.push(`${Date.now() - START}`);
        if (seen.length === 1) return unavailable(503);
        throw timingOut(deadline);
      },
    });
    const { error } = await settle(promise);
    expect(seen).toEqual(["0", "100"]);
    expect(error).toBeInstanceOf(HelperError);
    expect(error).toMatchObject({
      code: "unavailable",
      status: 503,
      what: "the broker is unavailable (HTTP 503, then no answer in time after 2 tries)",
      hint: "try again later; https://vers.sh may be down",
    });
  });

  it("only timeouts: did not answer in time, naming the tries", async () => {
    const deadline = Deadline.in(5000, () => Date.now());
    let tries = 0;
    const promise = withRetries<string>({
      label: "GitHub",
      origin: "https://api.github.com",
      deadline,
      trace: () => {},
      maxAttempts: 100,
      backoff: () => 100,
      attempt: async () => {
        tries++;
        if (tries === 1) throw new TransportError("timeout", "UND_ERR_CONNECT_TIMEOUT");
        throw timingOut(deadline);
      },
    });
    const { error } = await settle(promise);
    expect(tries).toBe(2);
    expect(error).toMatchObject({ code: "timeout", status: undefined, what: "GitHub did not answer in time (2 tries)" });
  });
});

describe("jitteredBackoff", () => {
  it.each([
    [1, 125, 250],
    [2, 250, 500],
    [3, 500, 1000],
    [4, 1000, 2000],
    [5, 1500, 3000],
    [10, 1500, 3000],
  ])("after %i failures waits between %i and %i ms", (failures, low, high) => {
    const random = vi.spyOn(Math, "random");
    random.mockReturnValue(0);
    expect(jitteredBackoff(failures)).toBe(low);
    random.mockReturnValue(0.5);
    expect(jitteredBackoff(failures)).toBe((low + high) / 2);
    random.mockReturnValue(0.999999);
    const top = jitteredBackoff(failures);
    expect(top).toBeLessThan(high);
    expect(top).toBeGreaterThan(high - 1);
  });

  it("grows with each failure until it caps", () => {
    vi.spyOn(Math, "random").mockReturnValue(0.25);
    const waits = [1, 2, 3, 4, 5, 6].map(jitteredBackoff);
    expect(waits).toEqual([156.25, 312.5, 625, 1250, 1875, 1875]);
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2015-10-21T07:27:30Z");

  it.each<[string | string[] | undefined, number]>([
    [undefined, 1000],
    ["0", 0],
    ["1", 1000],
    ["120", 120_000],
    ["1.5", 1500],
    [["7", "9"], 7000],
    ["Wed, 21 Oct 2015 07:28:00 GMT", 30_000],
    ["Wed, 21 Oct 2015 07:27:00 GMT", 0],
    ["soon", 1000],
  ])("%j → %i ms", (header, ms) => {
    expect(retryAfterMs(header, now)).toBe(ms);
  });

  /** "1 s when absent or unreadable": these are unreadable, not an instruction to retry at once. */
  it.each<[string, number]>([
    ["", 1000],
    ["-5", 1000],
    ["in 5", 1000],
  ])("the unreadable Retry-After %j → %i ms", (header, ms) => {
    expect(retryAfterMs(header, now)).toBe(ms);
  });
});
