/**
 * The inbound server for one (pod, port), as the policy controller serves it to the
 * proxy: computed by the policy model (see `model/build.ts`).
 *
 * @module
 */
import type { DefaultPolicy } from "../config.ts";
import type { Pod } from "../mesh/pods.ts";
import type { ServerModel } from "./model/types.ts";
import type { PolicyIndex } from "./policy_index.ts";
import type { InboundServer } from "./types.ts";

export {
  DEFAULT_POLICY_ANNOTATION,
  OPAQUE_PORTS_ANNOTATION,
  REQUIRE_IDENTITY_ANNOTATION,
  SKIP_INBOUND_ANNOTATION,
} from "./model/servers.ts";

/** The pod's effective default policy (its annotation when valid, else the cluster default). */
export function podDefaultPolicy(idx: PolicyIndex, pod: Pod): DefaultPolicy {
  return idx.model.podPorts(pod).defaultPolicy;
}

/** The Servers in the pod's namespace that select (pod, port), winner first. */
export function serversFor(idx: PolicyIndex, target: { pod: Pod; port: number }): ServerModel[] {
  return idx.model.serversFor(target.pod, target.port);
}

/** What governs inbound traffic to `pod` on `port` (memoised in the model). */
export function inboundServer(
  idx: PolicyIndex,
  target: { pod: Pod; port: number },
): InboundServer {
  return idx.model.inbound(target.pod, target.port);
}
