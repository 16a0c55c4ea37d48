/**
 * ServiceProfile and EgressNetwork rules.
 *
 * @module
 */
import type { KubeObject } from "../../kube/types.ts";
import type { ValidationContext } from "../context.ts";
import { cidrCovers, parseCidr } from "../../policy/cidr.ts";
import { parseGoDuration, parseQuantity } from "../parse.ts";
import { listOf, specOf } from "../refs.ts";
import type { Hit, Rule } from "../types.ts";
import { DOCS } from "./_docs.ts";

/** Compiles a Go (RE2) regex with JavaScript where the syntax agrees; `undefined` when unsure. */
export function goRegexError(re: string): string | undefined {
  let src = re.replace(/^\(\?[imsU]+\)/, "");
  if (/\[\[:|\\[pP]\{|\(\?[imsU-]|\\[AzQE]/.test(src)) return undefined;
  src = src.replace(/\(\?P</g, "(?<");
  try {
    new RegExp(src, "u");
    return undefined;
  } catch (err) {
    try {
      new RegExp(src);
      return undefined;
    } catch {
      return err instanceof Error ? err.message : String(err);
    }
  }
}

function conditionErrors(cond: unknown, path: string): Array<[string, string]> {
  if (!cond || typeof cond !== "object") return [[path, "is missing"]];
  const c = cond as Record<string, unknown>;
  const keys = ["pathRegex", "method", "all", "any", "not"].filter((k) => c[k] !== undefined);
  if (!keys.length) return [[path, "matches nothing (set pathRegex, method, all, any or not)"]];
  const out: Array<[string, string]> = [];
  if (typeof c["pathRegex"] === "string") {
    const err = goRegexError(c["pathRegex"]);
    if (err) out.push([`${path}.pathRegex`, `is not a valid regular expression: ${err}`]);
  }
  for (const k of ["all", "any"]) {
    listOf(c[k]).forEach((sub, i) => out.push(...conditionErrors(sub, `${path}.${k}[${i}]`)));
  }
  if (c["not"] !== undefined) out.push(...conditionErrors(c["not"], `${path}.not`));
  return out;
}

function statusErrors(cond: unknown, path: string): Array<[string, string]> {
  if (!cond || typeof cond !== "object") return [];
  const c = cond as Record<string, unknown>;
  const out: Array<[string, string]> = [];
  const st = c["status"] as { min?: unknown; max?: unknown } | undefined;
  if (st && typeof st === "object") {
    const min = st.min ?? 100;
    const max = st.max ?? 599;
    if (typeof min !== "number" || typeof max !== "number" || min > max || min < 100 || max > 599) {
      out.push([
        `${path}.status`,
        `range ${JSON.stringify(st)} is not within 100-599 with min <= max`,
      ]);
    }
  }
  for (const k of ["all", "any"]) {
    listOf(c[k]).forEach((sub, i) => out.push(...statusErrors(sub, `${path}.${k}[${i}]`)));
  }
  if (c["not"] !== undefined) out.push(...statusErrors(c["not"], `${path}.not`));
  return out;
}

function sp(ctx: ValidationContext, fn: (p: KubeObject, spec: Record<string, unknown>) => Hit[]) {
  return ctx.items("serviceprofiles").flatMap((p) => fn(p, specOf(p)));
}

/** ServiceProfile and EgressNetwork rules. */
export const PROFILE_RULES: Rule[] = [
  {
    id: "service-profile-name",
    severity: "warning",
    kind: "ServiceProfile",
    field: "metadata.name",
    summary: "ServiceProfile name is not a Service FQDN, so no client applies it",
    remediation: "Name the ServiceProfile <service>.<namespace>.svc.<cluster-domain>",
    docs: DOCS.serviceProfiles,
    check: (ctx) =>
      sp(ctx, (p) => {
        const name = p.metadata.name;
        if (/^[a-z0-9-]+\.[a-z0-9-]+\.svc\./.test(name)) return [];
        return [{
          obj: p,
          message:
            `ServiceProfile "${name}" is not named <service>.<namespace>.svc.${ctx.mesh.clusterDomain}; in-cluster clients never look it up`,
        }];
      }),
  },
  {
    id: "service-profile-route-invalid",
    severity: "error",
    kind: "ServiceProfile",
    field: "spec.routes",
    summary: "ServiceProfile route has no name, no condition, a bad regex or a bad status range",
    remediation: "Give each route a name and a condition (pathRegex and/or method)",
    docs: DOCS.serviceProfiles,
    check: (ctx) =>
      sp(ctx, (p, spec) =>
        listOf(spec["routes"]).flatMap((r, i) => {
          const errs: Array<[string, string]> = [];
          if (typeof r["name"] !== "string" || !r["name"]) {
            errs.push([`spec.routes[${i}].name`, "is missing"]);
          }
          errs.push(...conditionErrors(r["condition"], `spec.routes[${i}].condition`));
          listOf(r["responseClasses"]).forEach((rc, j) =>
            errs.push(
              ...statusErrors(rc["condition"], `spec.routes[${i}].responseClasses[${j}].condition`),
            )
          );
          return errs.map(([field, what]) => ({
            obj: p,
            field,
            message: `ServiceProfile "${p.metadata.name}": ${field} ${what}`,
          }));
        })),
  },
  {
    id: "service-profile-timeout-invalid",
    severity: "error",
    kind: "ServiceProfile",
    field: "spec.routes[].timeout",
    summary: "Route timeout is not a Go duration",
    remediation: "Write timeouts like 300ms, 5s or 1m",
    docs: DOCS.serviceProfiles,
    check: (ctx) =>
      sp(ctx, (p, spec) =>
        listOf(spec["routes"]).flatMap((r, i) => {
          const t = r["timeout"];
          if (t === undefined) return [];
          const ms = typeof t === "string" ? parseGoDuration(t) : undefined;
          if (ms !== undefined && ms >= 0) return [];
          return [{
            obj: p,
            field: `spec.routes[${i}].timeout`,
            message: `ServiceProfile "${p.metadata.name}": route "${r["name"] ?? i}" has timeout ${
              JSON.stringify(t)
            }, which is not a duration like 300ms`,
          }];
        })),
  },
  {
    id: "service-profile-retry-budget-invalid",
    severity: "error",
    kind: "ServiceProfile",
    field: "spec.retryBudget",
    summary: "retryBudget needs retryRatio >= 0, minRetriesPerSecond >= 0 and a ttl duration",
    remediation: "Set retryBudget: {retryRatio: 0.2, minRetriesPerSecond: 10, ttl: 10s}",
    docs: DOCS.serviceProfiles,
    check: (ctx) =>
      sp(ctx, (p, spec) => {
        const b = spec["retryBudget"] as Record<string, unknown> | undefined;
        if (b === undefined) return [];
        const errs: string[] = [];
        if (typeof b !== "object" || b === null) errs.push("is not an object");
        else {
          if (typeof b["retryRatio"] !== "number" || b["retryRatio"] < 0) {
            errs.push("retryRatio must be a number >= 0");
          }
          if (
            !Number.isInteger(b["minRetriesPerSecond"]) || (b["minRetriesPerSecond"] as number) < 0
          ) {
            errs.push("minRetriesPerSecond must be an integer >= 0");
          }
          const ttl = typeof b["ttl"] === "string" ? parseGoDuration(b["ttl"]) : undefined;
          if (ttl === undefined || ttl <= 0) errs.push("ttl must be a positive duration like 10s");
        }
        return errs.map((e) => ({
          obj: p,
          message: `ServiceProfile "${p.metadata.name}": retryBudget ${e}`,
        }));
      }),
  },
  {
    id: "service-profile-dst-override-invalid",
    severity: "error",
    kind: "ServiceProfile",
    field: "spec.dstOverrides",
    summary: "dstOverrides need an authority and a quantity weight",
    remediation: "Write dstOverrides as {authority: svc.ns.svc.cluster.local:8080, weight: 500m}",
    docs: DOCS.serviceProfiles,
    check: (ctx) =>
      sp(ctx, (p, spec) =>
        listOf(spec["dstOverrides"]).flatMap((d, i) => {
          const w = d["weight"];
          const weight = typeof w === "number"
            ? w
            : typeof w === "string"
            ? parseQuantity(w)
            : undefined;
          if (
            typeof d["authority"] === "string" && d["authority"] && weight !== undefined &&
            weight >= 0
          ) return [];
          return [{
            obj: p,
            field: `spec.dstOverrides[${i}]`,
            message:
              `ServiceProfile "${p.metadata.name}": dstOverrides[${i}] needs an authority and a weight quantity (got ${
                JSON.stringify(d)
              })`,
          }];
        })),
  },
  {
    id: "egress-network-invalid",
    severity: "error",
    kind: "EgressNetwork",
    field: "spec.trafficPolicy",
    summary: "EgressNetwork trafficPolicy must be Allow or Deny",
    remediation: "Set spec.trafficPolicy: Allow or Deny",
    docs: DOCS.egress,
    check: (ctx) =>
      ctx.items("egressnetworks").flatMap((e) => {
        const tp = specOf(e)["trafficPolicy"];
        return tp === "Allow" || tp === "Deny" ? [] : [{
          obj: e,
          message: `EgressNetwork "${e.metadata.name}" has trafficPolicy ${
            JSON.stringify(tp)
          }; it must be Allow or Deny`,
        }];
      }),
  },
  {
    id: "egress-network-overlaps-cluster",
    severity: "error",
    kind: "EgressNetwork",
    field: "spec.networks",
    summary: "EgressNetwork networks overlap the cluster networks, so it is not accepted",
    remediation:
      "List only networks outside clusterNetworks, or omit networks (everything outside the cluster)",
    docs: DOCS.egress,
    check: (ctx) => {
      const cluster = ctx.mesh.clusterNetworks.map(parseCidr).filter((c) => c !== undefined);
      return ctx.items("egressnetworks").flatMap((e) =>
        listOf(specOf(e)["networks"]).flatMap((n, i) => {
          const c = typeof n["cidr"] === "string" ? parseCidr(n["cidr"]) : undefined;
          const excepts = (Array.isArray(n["except"]) ? n["except"] : [])
            .map((x) => typeof x === "string" ? parseCidr(x) : undefined)
            .filter((x) => x !== undefined);
          const hit = c &&
            cluster.find((k) =>
              cidrCovers(k, c) || (cidrCovers(c, k) && !excepts.some((x) => cidrCovers(x, k)))
            );
          return hit
            ? [{
              obj: e,
              field: `spec.networks[${i}].cidr`,
              message: `EgressNetwork "${e.metadata.name}": ${n["cidr"]} overlaps cluster network ${
                ctx.mesh.clusterNetworks[cluster.indexOf(hit)]
              }; the controller does not accept it (EgressReasonNetworkOverlap)`,
            }]
            : [];
        })
      );
    },
  },
];
