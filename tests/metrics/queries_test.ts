import assert from "node:assert/strict";
import * as Q from "../../src/metrics/queries.ts";
import { HOSTILE, parseErrors, shape } from "./_promql.ts";

const web: Q.WorkloadRef = { namespace: "emojivoto", kind: "deployment", names: ["web"] };

/** Every builder, with the given names, as [name, query]. */
function all(ns: string, svc: string, w: Q.WorkloadRef): Array<[string, string]> {
  return [
    ["inboundResponses", Q.inboundResponsesQuery(w, 300)],
    ["inboundLatency", Q.inboundLatencyQuery(0.95, w, 300)],
    ["inboundMean", Q.inboundMeanLatencyQuery(w, 300)],
    ["topSources", Q.topSourcesQuery(ns, svc, 300)],
    ["topDestinations", Q.topDestinationsQuery(w, 300)],
    ["tcpOpen", Q.tcpOpenConnectionsQuery(w)],
    ["tcpRead", Q.tcpBytesQuery("tcp_read_bytes_total", w, 300)],
    ["edgeResponses", Q.edgeResponsesQuery(w, ns, svc, 300)],
    ["edgeLatency", Q.edgeLatencyQuery(0.99, w, ns, svc, 300)],
    ["edgeBytes", Q.edgeTcpBytesQuery("tcp_write_bytes_total", w, ns, svc, 300)],
    ["authzAllow", Q.authzQuery("allow", w, 300, `${svc}.${ns}.serviceaccount.identity.`)],
    ["authzDeny", Q.authzQuery("deny", w, 300)],
    ["nsResponses", Q.namespaceResponsesQuery(ns, 300)],
    ["nsLatency", Q.namespaceLatencyQuery(0.95, ns, 300)],
    ["rangeRate", Q.rangeRequestRateQuery(ns, w, 60)],
    ["rangeRateNs", Q.rangeRequestRateQuery(ns, undefined, 60)],
    ["rangeLatency", Q.rangeLatencyQuery(0.95, ns, w, 60)],
  ];
}

Deno.test("queries follow viz's templates and label names", () => {
  assert.equal(
    Q.inboundResponsesQuery(web, 300),
    'sum(increase(response_total{deployment="web", direction="inbound", namespace="emojivoto"}[5m])) by (classification, status_code)',
  );
  assert.equal(
    Q.inboundLatencyQuery(0.95, web, 3600),
    'histogram_quantile(0.95, sum(rate(response_latency_ms_bucket{deployment="web", direction="inbound", namespace="emojivoto"}[1h])) by (le))',
  );
  assert.equal(
    Q.topSourcesQuery("emojivoto", "web-svc", 300),
    'sum(increase(response_total{direction="outbound", dst_namespace="emojivoto", dst_service="web-svc"}[5m])) by (namespace, deployment, statefulset, daemonset, classification)',
  );
  assert.equal(
    Q.tcpBytesQuery("tcp_read_bytes_total", web, 60),
    'sum(increase(tcp_read_bytes_total{deployment="web", direction="inbound", namespace="emojivoto", peer="src"}[1m]))',
  );
  assert.equal(
    Q.authzQuery("deny", web, 300),
    'sum(increase(inbound_http_authz_deny_total{deployment="web", namespace="emojivoto"}[5m])) by (srv_name)',
  );
  assert.match(
    Q.authzQuery("allow", web, 300, "web.emojivoto.serviceaccount.identity."),
    /client_id=~"web\\\\.emojivoto\\\\.serviceaccount\\\\.identity\\\\..*"/,
  );
  assert.equal(
    Q.tcpOpenConnectionsQuery({ namespace: "ns", kind: "statefulset", names: ["a", "b.c"] }),
    'sum(tcp_open_connections{direction="inbound", namespace="ns", statefulset=~"(a|b\\\\.c)"})',
  );
  for (const [name, q] of all("emojivoto", "web-svc", web)) {
    assert.doesNotMatch(q, /http_status/, name);
  }
});

Deno.test("every builder's query parses as PromQL", () => {
  for (const [name, q] of all("emojivoto", "web-svc", web)) {
    assert.equal(parseErrors(q), 0, `${name}: ${q}`);
  }
});

Deno.test("hostile values cannot change any builder's structure, even unvalidated", () => {
  const benign = new Map(all("ns", "svc", { namespace: "ns", kind: "deployment", names: ["w"] }));
  for (const v of HOSTILE) {
    const hostile = all(v, v, { namespace: v, kind: "deployment", names: [v] });
    for (const [name, q] of hostile) {
      assert.equal(parseErrors(q), 0, `${name} with ${JSON.stringify(v.slice(0, 30))}`);
      assert.equal(
        shape(q),
        shape(benign.get(name)!),
        `${name} with ${JSON.stringify(v.slice(0, 30))}`,
      );
    }
  }
});

Deno.test("latencyQuantileQuery() rejects quantiles outside (0, 1)", () => {
  assert.throws(() => Q.latencyQuantileQuery(1, [], 60), RangeError);
  assert.throws(() => Q.latencyQuantileQuery(Number.NaN, [], 60), RangeError);
});
