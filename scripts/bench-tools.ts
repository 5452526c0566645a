/** Timing and statistics for scripts/bench.ts: spawn-to-exit times, paired medians, rounds, rows. */
import { spawn } from "node:child_process";

export const RUNS = Number(process.env.BENCH_RUNS ?? 30);
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** Runs a command to completion; returns wall milliseconds. */
export function timed(cmd: string, args: string[], env: Record<string, string>, input = ""): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["pipe", "ignore", "ignore"] });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}`))));
    child.stdin.end(input);
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Paired {
  base: number;
  subject: number;
  delta: number;
  /** subject − base, pair by pair. */
  deltas: number[];
}

/** Interleaves RUNS pairs (order alternating) and returns the medians and the paired median delta. */
export async function paired(base: () => Promise<number>, subject: () => Promise<number>): Promise<Paired> {
  const b: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    if (i % 2) {
      s.push(await subject());
      b.push(await base());
    } else {
      b.push(await base());
      s.push(await subject());
    }
  }
  const deltas = s.map((v, i) => v - b[i]!);
  return { base: median(b), subject: median(s), delta: median(deltas), deltas };
}

/** RUNS rounds of every command once each, the order rotating round by round: the times, per command. */
export async function interleaved(commands: Array<() => Promise<number>>): Promise<number[][]> {
  const times = commands.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    for (let k = 0; k < commands.length; k++) {
      const c = (i + k) % commands.length;
      times[c]!.push(await commands[c]!());
    }
  }
  return times;
}

/** The same measurement ROUNDS times: the spread between rounds says how far one figure can be trusted. */
export async function rounds<T>(measure: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ROUNDS; i++) out.push(await measure());
  return out;
}

/** A 95% interval for the median of paired deltas: percentile bootstrap, 2000 resamples, a fixed seed. */
export function medianInterval(deltas: number[]): [number, number] {
  let seed = 0x9e3779b9;
  const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const medians = Array.from({ length: 2000 }, () => median(deltas.map(() => deltas[Math.floor(random() * deltas.length)]!))).sort((a, b) => a - b);
  return [medians[50]!, medians[1949]!];
}

export const ms = (n: number) => `${n.toFixed(1)} ms`;
export const signed = (n: number) => `${n >= 0 ? "+" : ""}${ms(n)}`;
export const row = (what: string, figure: string, target: string, ok: boolean) => console.log(`${ok ? "✓" : "✗"} ${what.padEnd(40)} ${figure.padEnd(60)} target: ${target}`);
