/**
 * The \`metadata.managedFields\` of an object two field managers wrote, as a real API server
 * returns it: \`fieldsV1\` keys hold brackets, braces and escaped quotes (for
 * src/kube/_strip.ts's tests and benchmark).
 *
 * @module
 */

/** Two managers' records (the kubelet's status, a controller's spec). */
export const MANAGED_FIELDS = [
  {
    manager: "kubelet",
    operation: "Update",
    apiVersion: "v1",
    time: "2026-11-01T00:00:00Z",
    fieldsType: "FieldsV1",
    fieldsV1: {
      "f:status": {
        ...Object.fromEntries(
          ["Ready", "ContainersReady", "Initialized", "PodScheduled"].map((t) => [
            `k:{"type":"${t}"}`,
            { ".": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {} },
          ]),
        ),
        "f:containerStatuses[]": {},
        "f:weird": { 'k:{"name":"a]b[c\\\\"}': {} },
      },
    },
    subresource: "status",
  },
  {
    manager: "kube-controller-manager",
    operation: "Update",
    fieldsV1: {
      "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
      "f:spec": { "f:containers": { 'k:{"name":"app"}': { "f:image": {}, "f:ports": {} } } },
    },
  },
];
