import assert from "node:assert/strict";
import type { Pod } from "../mesh/pods.ts";
import { inPortSet, parsePortSet, probePaths, tcpPortsByName } from "./ports.ts";

const pod: Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "ns" },
  spec: {
    initContainers: [{ name: "init", ports: [{ name: "admin", containerPort: 9990 }] }],
    containers: [
      {
        name: "a",
        ports: [
          { name: "http", containerPort: 8080 },
          { name: "dns", containerPort: 53, protocol: "UDP" },
        ],
        livenessProbe: { httpGet: { path: "/live?x=1", port: "http" } },
        readinessProbe: { httpGet: { port: 8080 } },
        startupProbe: { tcpSocket: { port: 8080 } },
      },
      {
        name: "b",
        ports: [{ name: "admin", containerPort: 9991 }],
        readinessProbe: { httpGet: { path: "/r", port: "http" } },
      },
    ],
  },
};

Deno.test("parsePortSet() reads numbers and ranges and drops the whole value on one bad entry", () => {
  assert.deepEqual(parsePortSet("80, 443,8000-9000"), [[80, 80], [443, 443], [8000, 9000]]);
  assert.deepEqual(parsePortSet("3000,mysql"), []);
  assert.deepEqual(parsePortSet("9-1"), []);
  assert.deepEqual(parsePortSet(undefined), []);
  assert.equal(inPortSet(parsePortSet("8000-9000"), 8080), true);
  assert.equal(inPortSet(parsePortSet("8000-9000"), 9001), false);
});

Deno.test("tcpPortsByName() finds every TCP port with the name, init containers included (tcp_ports_by_name)", () => {
  assert.deepEqual(tcpPortsByName(pod, "admin"), [9990, 9991]);
  assert.deepEqual(tcpPortsByName(pod, "dns"), []);
});

Deno.test("probePaths() collects httpGet paths per port within the container (probe_multiple_paths)", () => {
  // container b's named port "http" does not exist in b, so its probe is dropped
  assert.deepEqual([...probePaths(pod)], [[8080, ["/", "/live"]]]);
});
