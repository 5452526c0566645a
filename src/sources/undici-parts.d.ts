/**
 * Types for the three parts of undici the transport loads (see http.ts): the package's own types,
 * re-exported under the module paths it ships them at.
 */
declare module "undici/lib/dispatcher/agent.js" {
  import { Agent } from "undici";
  export default Agent;
}

declare module "undici/lib/dispatcher/env-http-proxy-agent.js" {
  import { EnvHttpProxyAgent } from "undici";
  export default EnvHttpProxyAgent;
}

declare module "undici/lib/dispatcher/pool.js" {
  import { Pool } from "undici";
  export default Pool;
}

declare module "undici/lib/dispatcher/dispatcher.js" {
  import { Dispatcher } from "undici";
  export default Dispatcher;
}

declare module "undici/lib/api/index.js" {
  /** request, stream, pipeline, connect, upgrade: the methods undici's index puts on every dispatcher. */
  const api: Record<string, unknown>;
  export default api;
}
