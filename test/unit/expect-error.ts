import { expect } from "vitest";
import { HelperError } from "../../src/errors";

/**
 * Runs `fn` and returns the HelperError it threw; the test fails if it threw anything else, or
 * nothing (with `notThrown` as the message).
 */
export function errorOf(fn: () => unknown, notThrown = "did not throw"): HelperError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HelperError);
    return err as HelperError;
  }
  throw new Error(notThrown);
}
