/** proper-lockfile, in a bundle chunk of its own: only a process that takes a lock loads it. */
export { lock } from "proper-lockfile";
