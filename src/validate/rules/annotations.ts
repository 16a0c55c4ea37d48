/**
 * Proxy and injection annotations on Namespaces, workload pod templates and bare
 * Pods: values, port lists, resource quantities, log filters, durations.
 *
 * @module
 */
import { DEFAULT_POLICIES } from "../../config.ts";
import { isDefaultPolicy } from "../../policy/model/mod.ts";
import type { KubeObject } from "../../kube/types.ts";
import { podTemplateOf } from "../../kube/workloads.ts";
import { type ValidationContext, WORKLOAD_KEYS } from "../context.ts";
import { logLevelError, parseGoDuration, parsePortList, parseQuantity } from "../parse.ts";
import type { Hit, Rule } from "../types.ts";
import { DOCS } from "./_docs.ts";

const CFG = "config.linkerd.io/";

/** An object whose annotations configure injection, with where they live. */
export interface AnnotatedObject {
  obj: KubeObject;
  annotations: Record<string, string>;
  /** Field path of the annotations map. */
  path: string;
}

/** Namespaces, workload templates and bare pods, with the annotations the injector reads. */
export function annotatedObjects(ctx: ValidationContext): AnnotatedObject[] {
  const out: AnnotatedObject[] = [];
  for (const ns of ctx.items("namespaces")) {
    out.push({ obj: ns, annotations: ns.metadata.annotations ?? {}, path: "metadata.annotations" });
  }
  for (const key of WORKLOAD_KEYS) {
    for (const wl of ctx.items(key)) {
      if ((key === "replicasets" || key === "jobs") && wl.metadata.ownerReferences?.length) {
        continue;
      }
      const t = templateMeta(wl);
      out.push({
        obj: wl,
        annotations: t?.annotations ?? {},
        path: wl.kind === "CronJob"
          ? "spec.jobTemplate.spec.template.metadata.annotations"
          : "spec.template.metadata.annotations",
      });
    }
  }
  for (const pod of ctx.items("pods")) {
    if (pod.metadata.ownerReferences?.length) continue;
    out.push({
      obj: pod,
      annotations: pod.metadata.annotations ?? {},
      path: "metadata.annotations",
    });
  }
  return out;
}

function templateMeta(wl: KubeObject): { annotations?: Record<string, string> } | undefined {
  return podTemplateOf(wl)?.metadata;
}

function byAnnotation(
  ctx: ValidationContext,
  keys: readonly string[],
  fn: (value: string, key: string, a: AnnotatedObject) => string | undefined,
): Hit[] {
  const out: Hit[] = [];
  for (const a of annotatedObjects(ctx)) {
    for (const key of keys) {
      const v = a.annotations[key];
      if (v === undefined) continue;
      const msg = fn(String(v), key, a);
      if (msg) {
        out.push({
          obj: a.obj,
          field: `${a.path}[${key}]`,
          message: `${a.obj.kind} "${a.obj.metadata.name}": ${key}: ${msg}`,
        });
      }
    }
  }
  return out;
}

const PORT_LISTS = [
  `${CFG}opaque-ports`,
  `${CFG}skip-inbound-ports`,
  `${CFG}skip-outbound-ports`,
  `${CFG}proxy-require-identity-inbound-ports`,
  `${CFG}pod-inbound-ports`,
] as const;

const QUANTITIES = ["cpu", "memory", "ephemeral-storage"].flatMap((r) => [
  `${CFG}proxy-${r}-request`,
  `${CFG}proxy-${r}-limit`,
]);

const DURATIONS = [
  `${CFG}proxy-outbound-connect-timeout`,
  `${CFG}proxy-inbound-connect-timeout`,
  `${CFG}proxy-outbound-discovery-cache-unused-timeout`,
  `${CFG}proxy-inbound-discovery-cache-unused-timeout`,
  `${CFG}shutdown-grace-period`,
  `${CFG}close-wait-timeout`,
];

const ENUMS = new Map<string, string[]>([
  [`${CFG}proxy-log-format`, ["plain", "json"]],
  [`${CFG}proxy-log-http-headers`, ["off", "insecure"]],
  [`${CFG}access-log`, ["apache", "json"]],
  [`${CFG}proxy-await`, ["enabled", "disabled"]],
  [`${CFG}image-pull-policy`, ["Always", "IfNotPresent", "Never"]],
]);

/** Values that are the injector's default anyway, so misplacing them changes nothing. */
const DEFAULT_VALUES = new Map<string, string>([
  [`${CFG}proxy-await`, "enabled"],
]);

/** Annotation rules. */
export const ANNOTATION_RULES: Rule[] = [
  {
    id: "annotation-inject-invalid",
    severity: "error",
    kind: "Workload",
    field: "metadata.annotations[linkerd.io/inject]",
    summary: "linkerd.io/inject must be enabled, disabled or ingress",
    remediation: "Set linkerd.io/inject to enabled, disabled or ingress",
    docs: DOCS.injection,
    check: (ctx) =>
      byAnnotation(
        ctx,
        ["linkerd.io/inject"],
        (v) =>
          ["enabled", "disabled", "ingress"].includes(v)
            ? undefined
            : `"${v}" is not enabled, disabled or ingress; the proxy injector does not inject`,
      ),
  },
  {
    id: "annotation-default-policy-invalid",
    severity: "error",
    kind: "Workload",
    field: `metadata.annotations[${CFG}default-inbound-policy]`,
    summary: "default-inbound-policy is not a policy name, so the cluster default applies",
    remediation: `Use one of: ${DEFAULT_POLICIES.join(", ")}`,
    docs: DOCS.serverPolicy,
    check: (ctx) =>
      byAnnotation(
        ctx,
        [`${CFG}default-inbound-policy`],
        (v) =>
          isDefaultPolicy(v, ctx.model.features)
            ? undefined
            : `"${v}" is not a default policy${
              v === "audit"
                ? ` for this control plane (${ctx.model.version.text}; audit needs 2.16)`
                : ""
            }; Linkerd ignores it and uses the cluster default (${ctx.mesh.defaultInboundPolicy})`,
      ),
  },
  {
    id: "annotation-ports-invalid",
    severity: "error",
    kind: "Workload",
    field: `metadata.annotations[${CFG}opaque-ports]`,
    summary: "Port list annotation has an entry that is not a port, range or name",
    remediation: "Write ports as a comma list of numbers and ranges, e.g. 25,3306,8000-9000",
    docs: DOCS.proxyConfig,
    check: (ctx) =>
      byAnnotation(ctx, PORT_LISTS, (v) => {
        const err = parsePortList(v).error;
        return err ? `${err}; the whole list is ignored` : undefined;
      }),
  },
  {
    id: "annotation-ports-named",
    severity: "warning",
    kind: "Workload",
    field: `metadata.annotations[${CFG}opaque-ports]`,
    summary: "Named ports in opaque-ports: the policy controller ignores the whole list",
    remediation: "Use port numbers or ranges instead of names",
    docs: DOCS.protocolDetection,
    check: (ctx) =>
      byAnnotation(
        ctx,
        [`${CFG}opaque-ports`, `${CFG}proxy-require-identity-inbound-ports`],
        (v, key) => {
          const list = parsePortList(v);
          if (list.error || !list.names.length) return undefined;
          return `names ${
            list.names.map((n) => `"${n}"`).join(", ")
          }; the injector resolves names but the policy controller accepts only numbers and ranges and drops the whole list${
            key.endsWith("opaque-ports")
              ? ", so inbound ports it governs are not treated as opaque"
              : ""
          }`;
        },
      ),
  },
  {
    id: "annotation-quantity-invalid",
    severity: "error",
    kind: "Workload",
    field: `metadata.annotations[${CFG}proxy-cpu-request]`,
    summary:
      "Proxy resource annotation is not a Kubernetes quantity; the injector ignores it and uses the defaults",
    remediation: "Use Kubernetes quantities such as 100m, 0.5, 1, 64Mi, 1Gi or 1k",
    docs: DOCS.proxyConfig,
    check: (ctx) =>
      byAnnotation(
        ctx,
        QUANTITIES,
        (v) =>
          parseQuantity(v) === undefined
            ? `"${v}" is not a Kubernetes quantity; the proxy injector ignores the value and injects the proxy with the default resources`
            : undefined,
      ),
  },
  {
    id: "annotation-limit-below-request",
    severity: "error",
    kind: "Workload",
    field: `metadata.annotations[${CFG}proxy-cpu-limit]`,
    summary: "Proxy resource limit is lower than its request; the pod is rejected",
    remediation: "Make each proxy limit at least its request",
    docs: DOCS.proxyConfig,
    check: (ctx) =>
      annotatedObjects(ctx).flatMap((a) =>
        ["cpu", "memory", "ephemeral-storage"].flatMap((r) => {
          const req = a.annotations[`${CFG}proxy-${r}-request`];
          const lim = a.annotations[`${CFG}proxy-${r}-limit`];
          if (req === undefined || lim === undefined) return [];
          const rq = parseQuantity(String(req));
          const lm = parseQuantity(String(lim));
          if (rq === undefined || lm === undefined || lm >= rq) return [];
          return [{
            obj: a.obj,
            field: `${a.path}[${CFG}proxy-${r}-limit]`,
            message:
              `${a.obj.kind} "${a.obj.metadata.name}": proxy ${r} limit ${lim} is lower than its request ${req}; the API server rejects the pod`,
          }];
        })
      ),
  },
  {
    id: "annotation-log-level-invalid",
    severity: "error",
    kind: "Workload",
    field: `metadata.annotations[${CFG}proxy-log-level]`,
    summary: "proxy-log-level is not a valid proxy log filter",
    remediation:
      "Use a filter like warn,linkerd=info,hickory=error (levels: trace, debug, info, warn, error, off)",
    docs: DOCS.logLevel,
    check: (ctx) =>
      byAnnotation(ctx, [`${CFG}proxy-log-level`], (v) => {
        const err = logLevelError(v);
        return err ? `${err}; the proxy fails to start` : undefined;
      }),
  },
  {
    id: "annotation-value-invalid",
    severity: "error",
    kind: "Workload",
    field: `metadata.annotations[${CFG}proxy-log-format]`,
    summary: "Proxy annotation value is not one of its allowed values",
    remediation: "Use one of the values listed in the message",
    docs: DOCS.proxyConfig,
    check: (ctx) =>
      byAnnotation(
        ctx,
        [...ENUMS.keys()],
        (v, key) =>
          ENUMS.get(key)!.includes(v)
            ? undefined
            : `"${v}" is not one of ${ENUMS.get(key)!.join(", ")}`,
      ),
  },
  {
    id: "annotation-duration-invalid",
    severity: "error",
    kind: "Workload",
    field: `metadata.annotations[${CFG}proxy-outbound-connect-timeout]`,
    summary: "Proxy timeout annotation is not a duration",
    remediation: "Write durations like 1000ms, 5s or 1m",
    docs: DOCS.proxyConfig,
    check: (ctx) => [
      ...byAnnotation(ctx, DURATIONS, (v) => {
        const ms = parseGoDuration(v);
        return ms === undefined || ms < 0
          ? `"${v}" is not a duration like 1000ms or 5s`
          : undefined;
      }),
      ...byAnnotation(
        ctx,
        ["config.alpha.linkerd.io/proxy-wait-before-exit-seconds"],
        (v) => (/^\d+$/.test(v.trim()) ? undefined : `"${v}" is not a whole number of seconds`),
      ),
    ],
  },
  {
    id: "annotation-on-workload-metadata",
    severity: "warning",
    kind: "Workload",
    field: "metadata.annotations",
    summary:
      "Linkerd annotations on a workload's own metadata are ignored; they belong on the pod template",
    remediation:
      "Move the annotation to spec.template.metadata.annotations (or onto the Namespace)",
    docs: DOCS.injection,
    check: (ctx) =>
      WORKLOAD_KEYS.flatMap((k) => ctx.items(k)).flatMap((wl) => {
        const own = wl.metadata.annotations ?? {};
        const tmpl = templateMeta(wl)?.annotations ?? {};
        return Object.keys(own)
          .filter((k) => (k === "linkerd.io/inject" || k.startsWith(CFG)) && tmpl[k] === undefined)
          .filter((k) => DEFAULT_VALUES.get(k) !== own[k])
          .map((k) => ({
            obj: wl,
            field: `metadata.annotations[${k}]`,
            message:
              `${wl.kind} "${wl.metadata.name}" sets ${k} on its own metadata, which the proxy injector never reads; it has no effect`,
          }));
      }),
  },
  {
    id: "annotation-proxy-version-pinned",
    severity: "warning",
    kind: "Workload",
    field: `metadata.annotations[${CFG}proxy-version]`,
    summary: "Workload pins a proxy version different from the control plane's",
    remediation: "Remove config.linkerd.io/proxy-version so that upgrades keep proxies in step",
    docs: DOCS.upgrade,
    check: (ctx) =>
      byAnnotation(
        ctx,
        [`${CFG}proxy-version`],
        (v) =>
          ctx.mesh.proxyVersion && v !== ctx.mesh.proxyVersion
            ? `pins proxy ${v} while the control plane injects ${ctx.mesh.proxyVersion}; it will not follow upgrades`
            : undefined,
      ),
  },
];
