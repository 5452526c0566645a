/** Redis failed us (down, slow, wrong password, out of memory, not Redis at all): the tier steps aside. */
export class FleetUnavailable extends Error {}

export const CONNECT_MS = 1000;
export const COMMAND_MS = 500;
/**
 * How long a get may wait for a failover (a Sentinel promoting a replica, a cluster moving a lost primary's
 * slots) once a connection to a primary is lost, before it goes on without the fleet; never past the point
 * where less than MINT_RESERVE_MS of its deadline is left.
 */
export const FAILOVER_MS = 8000;
export const MINT_RESERVE_MS = 5000;

/**
 * `work` within `ms`, every failure as FleetUnavailable naming the step. `more()`, asked when `ms` is up,
 * may give more time (a failover under way); it is asked again when that is up, and 0 ends the wait.
 */
export async function bounded<T>(work: Promise<T>, ms: number, what: string, more: () => number = () => 0): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const late = new Promise<never>((_, reject) => {
    let allowed = 0;
    const check = (wait: number): void => {
      allowed += wait;
      // The verdict waits for setImmediate, after the event loop's I/O phase: a process that got no CPU for a
      // while (hundreds of processes on two cores) finds its timer due and Redis's answer waiting in the socket
      // at the same time, and the answer that came in time wins instead of a false "no answer".
      timer = setTimeout(() => {
        immediate = setImmediate(() => {
          const extra = more();
          if (extra > 0) return check(extra);
          reject(new FleetUnavailable(`no answer within ${allowed} ms ${what}`));
        });
      }, wait);
    };
    check(ms);
  });
  try {
    return await Promise.race([work, late]);
  } catch (err) {
    if (err instanceof FleetUnavailable) throw err;
    throw new FleetUnavailable(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
    clearImmediate(immediate);
  }
}
