/**
 * The write family, the only tools that change the cluster: `apply_policies`,
 * `enforce_policies` and `rollback_policies`. They exist only when the server runs with
 * `--allow-writes` (or `LINKERD_MCP_ALLOW_WRITES=1`). Every call is first a server-side dry
 * run whose field-by-field diff is returned; a real write needs `dry_run: false`, uses the
 * field manager `linkerd-mcp`, marks what it touches with a change id, and says how to roll
 * it back. The pure parts are in `src/writes/`, the I/O in `src/kube/writer.ts`.
 *
 * @module
 */
import { z } from "zod";
import type { Config } from "../config.ts";
import { InvalidArgumentError } from "../errors.ts";
import { type ObjectRef, type PolicyWriter, policyWriterFor } from "../kube/writer.ts";
import type { ClusterSource } from "../kube/source.ts";
import type { KubeObject } from "../kube/types.ts";
import { type ResourceKey, resourceKeyFor, RESOURCES } from "../kube/resources.ts";
import { parseDuration } from "../metrics/labels.ts";
import type { PromClient } from "../metrics/prom_client.ts";
import { diffObjects, type FieldChange, formatChange } from "../writes/diff.ts";
import {
  applyBody,
  CHANGE_ID_LABEL,
  CREATED_BY_ANNOTATION,
  enforcePatch,
  FIELD_MANAGER,
  isChangeId,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  newChangeId,
  PREVIOUS_ANNOTATION_PREFIX,
  restorePatch,
  rollbackPlan,
  TOUCHED_LABEL,
} from "../writes/plan.ts";
import { parsePolicyYaml, type PolicyObject, WRITABLE_KEYS } from "../writes/policy_yaml.ts";
import { namespaceArg } from "./_args.ts";
import {
  describeError,
  fail,
  ok,
  type ToolAnnotations,
  type ToolContext,
  type ToolDeps,
  type ToolSpec,
} from "./_spec.ts";

/** The names of the write tools (listed only with `--allow-writes`). */
export const WRITE_TOOL_NAMES = [
  "apply_policies",
  "enforce_policies",
  "rollback_policies",
] as const;

/** The answer to a call of a write tool on a server started without `--allow-writes`. */
export function writesDisabledMessage(tool: string): string {
  return `${tool} is a write tool and this server is read-only: it changes the cluster only when started with --allow-writes (or LINKERD_MCP_ALLOW_WRITES=1; Helm chart: --set writes.enabled=true). Nothing was changed. Without writes, apply the YAML yourself, e.g. with "kubectl apply --dry-run=server -f -" first`;
}

/** One would-be-denied flow, as `analyze_audit` reports it (the fields enforce uses). */
export interface AuditFlow {
  client: {
    identity?: string;
    namespace?: string;
    serviceAccount?: string;
    workload?: string;
    unauthenticated?: true;
  };
  target: {
    namespace: string;
    service?: string;
    workload?: string;
    port?: number;
    server?: string;
    route?: string;
  };
  protocol: "http" | "tcp";
  requestRate?: number;
  connections?: number;
  reason: string;
  fix?: string;
}

/** What enforce needs of the audit analysis. */
export interface AuditFindings {
  wouldBeDenied: AuditFlow[];
  /** Flows the model could not decide: blocking too. */
  undetermined?: AuditFlow[];
  notes?: string[];
  partial?: boolean;
}

/** The `analyzeAudit` use case (src/lifecycle), injected. */
export type AnalyzeAuditFn = (
  deps: {
    cluster: ClusterSource;
    config: Config;
    prom: PromClient;
    now: Date;
    signal: AbortSignal;
  },
  opts: { namespace?: string; windowSeconds: number; server?: string },
) => Promise<AuditFindings>;

/** Options of {@linkcode writeTools}. */
export interface WriteToolsOptions {
  /** The audit analysis enforce checks first; without it enforce needs `force`. */
  analyzeAudit?: AnalyzeAuditFn;
  /** Random hex for change ids (tests). */
  randomHex?: () => string;
}

const WRITE: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: true,
};
const DESTRUCTIVE: ToolAnnotations = { ...WRITE, destructiveHint: true };

const changeOut = z.object({
  path: z.string().describe('Dotted field path, e.g. "spec.accessPolicy", "metadata.labels.app"'),
  op: z.enum(["add", "remove", "change"]),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
});

const objectOut = z.object({
  kind: z.string(),
  apiVersion: z.string(),
  namespace: z.string(),
  name: z.string(),
  action: z.enum(["create", "update", "unchanged", "delete", "restore", "blocked"]).describe(
    "What the write does (or did) to this object",
  ),
  changes: z.array(changeOut).describe(
    "Field by field, as the API server's dry run computed it (linkerd-mcp's own labels and annotations left out)",
  ),
  diff: z.array(z.string()).describe(
    'The same, one line each: "~ spec.accessPolicy: "audit" -> "deny""',
  ),
  written: z.boolean().describe("True when this object was really changed"),
  error: z.string().optional().describe(
    "Why the API server refused it (conflict, invalid, forbidden)",
  ),
  causes: z.array(z.string()).optional().describe(
    "Field-level causes: conflicting managers, invalid fields",
  ),
});

const rollbackOut = z.object({
  tool: z.literal("rollback_policies"),
  arguments: z.object({ change_id: z.string(), dry_run: z.boolean() }),
  description: z.string(),
});

const commonOut = {
  changeId: z.string().describe(
    `The change id (label ${CHANGE_ID_LABEL}); a dry run shows the id a real write would have used`,
  ),
  dryRun: z.boolean().describe("True: nothing was persisted"),
  serverValidated: z.boolean().describe(
    "True: the result comes from the API server's dry run (dryRun=All); false: computed against the demo or manifests state, NOT validated by any API server",
  ),
  written: z.boolean().describe("True when at least one object was really changed"),
  objects: z.array(objectOut),
  summary: z.string(),
  rollback: rollbackOut.optional().describe("How to undo the real write"),
  notes: z.array(z.string()),
};

/** Our own bookkeeping fields, left out of the diff shown (they are described in notes). */
function isBookkeeping(c: FieldChange): boolean {
  const ours = [CHANGE_ID_LABEL, TOUCHED_LABEL, CREATED_BY_ANNOTATION, MANAGED_BY_LABEL];
  return ours.some((k) =>
    c.path === `metadata.labels[${JSON.stringify(k)}]` ||
    c.path === `metadata.annotations[${JSON.stringify(k)}]`
  ) ||
    c.path.startsWith(
      `metadata.annotations[${JSON.stringify(PREVIOUS_ANNOTATION_PREFIX).slice(0, -1)}`,
    ) ||
    c.path === "metadata.labels" || c.path === "metadata.annotations";
}

function visibleChanges(before: unknown, after: unknown): FieldChange[] {
  return diffObjects(before ?? {}, after).filter((c) => !isBookkeeping(c));
}

function randomHex(): string {
  const b = new Uint8Array(3);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** Apply order: authentications, authorizations, routes, Servers last (no deny window). */
const APPLY_ORDER: ResourceKey[] = [
  "meshtlsauthentications",
  "networkauthentications",
  "authorizationpolicies",
  "httproutes",
  "gatewayhttproutes",
  "grpcroutes",
  "servers",
];

function refOf(p: Pick<PolicyObject, "key" | "version" | "namespace" | "name">): ObjectRef {
  return { key: p.key, version: p.version, namespace: p.namespace, name: p.name };
}

function refOfObject(o: KubeObject): ObjectRef | undefined {
  const key = resourceKeyFor(o.apiVersion, o.kind);
  if (!key || !WRITABLE_KEYS.includes(key)) return undefined;
  return {
    key,
    version: o.apiVersion.slice(o.apiVersion.lastIndexOf("/") + 1),
    namespace: o.metadata.namespace ?? "",
    name: o.metadata.name,
  };
}

/**
 * Asks the client to confirm a real write, where it supports elicitation. Returns a
 * refusal message, or `undefined` to go on (confirmed, or no way to ask: the explicit
 * `dry_run: false` is the consent then); `notes` says which.
 */
async function confirmWrite(
  ctx: ToolContext,
  message: string,
  notes: string[],
): Promise<string | undefined> {
  if (!ctx.confirm) {
    notes.push(
      "No confirmation was asked: the client or transport does not support MCP elicitation; dry_run: false was taken as the consent.",
    );
    return undefined;
  }
  const answer = await ctx.confirm(message);
  if (answer === "accept") {
    notes.push("The user confirmed the write (MCP elicitation).");
    return undefined;
  }
  if (answer === "unsupported") {
    notes.push(
      "No confirmation was asked: the client or transport does not support MCP elicitation; dry_run: false was taken as the consent.",
    );
    return undefined;
  }
  return `The user ${
    answer === "decline" ? "declined" : "cancelled"
  } the confirmation: nothing was written. The dry run above shows what would change.`;
}

function rollbackHint(changeId: string) {
  return {
    tool: "rollback_policies" as const,
    arguments: { change_id: changeId, dry_run: false },
    description:
      `rollback_policies {change_id: "${changeId}"} deletes exactly what this change created and restores what it changed (first as a dry run; add dry_run: false to do it). Equivalent by hand: kubectl get ${
        WRITABLE_KEYS.map((k) => `${RESOURCES[k].plural}.${RESOURCES[k].group}`).join(",")
      } -A -l ${CHANGE_ID_LABEL}=${changeId}`,
  };
}

function bookkeepingNote(changeId: string): string {
  return `Every object written carries the labels ${CHANGE_ID_LABEL}=${changeId} and ${TOUCHED_LABEL}=true; objects it creates also ${MANAGED_BY_LABEL}=${MANAGED_BY} and the annotation ${CREATED_BY_ANNOTATION}; objects it changes keep their previous labels, annotations and spec in the annotation ${PREVIOUS_ANNOTATION_PREFIX}${changeId} (that is what rollback restores). Field manager: ${FIELD_MANAGER}.`;
}

function sourceNote(writer: PolicyWriter): string[] {
  return writer.serverValidated ? [] : [
    `NOT server-validated: this source has no API server, so the dry run was computed against the in-memory state (server-side apply approximated: mappings merged, lists replaced); a real write is refused (${writer.readOnlyReason}).`,
  ];
}

type ObjectResult = z.infer<typeof objectOut>;

// ---------------------------------------------------------------- apply_policies

const applyInput = {
  yaml: z.string().min(1).describe(
    "Multi-document YAML (or JSON) of policy resources only: Server, AuthorizationPolicy, MeshTLSAuthentication, NetworkAuthentication, HTTPRoute (policy.linkerd.io or gateway.networking.k8s.io), GRPCRoute; each with metadata.name and metadata.namespace. E.g. the yaml output of generate_policies",
  ),
  "dry_run": z.boolean().default(true).describe(
    "Default true: only a server-side dry run, nothing is changed. false: really write (after the dry run succeeded)",
  ),
};

async function applyPolicies(
  args: { yaml: string; dry_run: boolean },
  deps: ToolDeps,
  ctx: ToolContext,
  hex: () => string,
) {
  const parsed = parsePolicyYaml(args.yaml);
  if (!parsed.ok) {
    return fail(`Cannot apply the YAML, nothing was changed: ${parsed.problems.join("; ")}`);
  }
  const writer = policyWriterFor(deps.cluster);
  const changeId = newChangeId(deps.now(), hex);
  const notes = [...sourceNote(writer)];
  const docs = [...parsed.objects].sort((a, b) =>
    APPLY_ORDER.indexOf(a.key) - APPLY_ORDER.indexOf(b.key)
  );
  const results: ObjectResult[] = [];
  const bodies = new Map<PolicyObject, KubeObject>();
  let refused = 0;
  for (const doc of docs) {
    const ref = refOf(doc);
    const current = await writer.read(ref, ctx.signal);
    const body = applyBody(doc.object, changeId, current);
    const dry = await writer.apply(ref, body, { dryRun: true, signal: ctx.signal });
    const base = {
      kind: doc.kind,
      apiVersion: doc.object.apiVersion,
      namespace: doc.namespace,
      name: doc.name,
      written: false,
    };
    if (!dry.ok) {
      refused++;
      results.push({
        ...base,
        action: current ? "update" : "create",
        changes: [],
        diff: [],
        error: dry.message,
        causes: dry.causes,
      });
      continue;
    }
    const changes = visibleChanges(current, dry.object);
    const action = !current ? "create" : changes.length ? "update" : "unchanged";
    if (action !== "unchanged") bodies.set(doc, body);
    results.push({ ...base, action, changes, diff: changes.map(formatChange) });
  }
  const counts = (a: string) => results.filter((r) => r.action === a && !r.error).length;
  const plan = `${counts("create")} to create, ${counts("update")} to change, ${
    counts("unchanged")
  } unchanged`;
  if (refused) {
    return ok({
      changeId,
      dryRun: true,
      serverValidated: writer.serverValidated,
      written: false,
      objects: results,
      summary: `Nothing was written: the ${
        writer.serverValidated ? "API server's dry run" : "dry run"
      } refused ${refused} of ${results.length} object(s) (see objects[].error: a conflict names the field manager that owns the field; change the field with that tool, or leave it out of the YAML). Otherwise ${plan}.`,
      notes,
    });
  }
  if (args.dry_run || bodies.size === 0) {
    if (!args.dry_run) notes.push("Nothing to write: every object already is as the YAML says.");
    return ok({
      changeId,
      dryRun: true,
      serverValidated: writer.serverValidated,
      written: false,
      objects: results,
      summary: `Dry run${
        writer.serverValidated ? " (server-side, dryRun=All)" : " (in memory, not server-validated)"
      }: ${plan}. Nothing was changed; call apply_policies again with dry_run: false to write.`,
      notes: [...notes, bookkeepingNote(changeId)],
    });
  }
  if (writer.readOnlyReason) {
    return fail(
      `apply_policies cannot write: ${writer.readOnlyReason}. Nothing was changed; the dry run (dry_run: true) shows what would change.`,
    );
  }
  const refusal = await confirmWrite(
    ctx,
    `Apply ${plan} (policy resources: ${
      [...bodies.keys()].map((d) => `${d.kind} ${d.namespace}/${d.name}`).join(", ")
    }) to ${deps.cluster.describe()}? Change id ${changeId}.`,
    notes,
  );
  if (refusal) return fail(refusal);
  let failedAt: string | undefined;
  for (const doc of docs) {
    const body = bodies.get(doc);
    if (!body) continue;
    const r = results.find((x) =>
      x.kind === doc.kind && x.namespace === doc.namespace &&
      x.name === doc.name && x.apiVersion === doc.object.apiVersion
    )!;
    const res = await writer.apply(refOf(doc), body, { dryRun: false, signal: ctx.signal });
    if (!res.ok) {
      r.error = res.message;
      r.causes = res.causes;
      failedAt = `${doc.kind} ${doc.namespace}/${doc.name}`;
      break;
    }
    r.written = true;
  }
  const written = results.filter((r) => r.written).length;
  return ok({
    changeId,
    dryRun: false,
    serverValidated: true,
    written: written > 0,
    objects: results,
    summary: failedAt
      ? `Partly written: ${written} object(s) written, then the API server refused ${failedAt} (see its error); the rest was not sent. Roll back the written part with rollback_policies {change_id: "${changeId}"}.`
      : `Written: ${plan} (change ${changeId}, field manager ${FIELD_MANAGER}). To undo: rollback_policies {change_id: "${changeId}"}.`,
    rollback: rollbackHint(changeId),
    notes: [...notes, bookkeepingNote(changeId)],
  });
}

// ---------------------------------------------------------------- enforce_policies

const flowOut = z.object({
  client: z.string().describe("The client: identity, workload, or unauthenticated"),
  target: z.string().describe("namespace/server:port[ route]"),
  protocol: z.string(),
  requestRate: z.number().optional(),
  connections: z.number().optional(),
  reason: z.string(),
  undetermined: z.boolean().describe("True when the policy model could not decide (blocking too)"),
});

const enforceInput = {
  namespace: namespaceArg('Namespace whose audited Servers to enforce, e.g. "emojivoto"'),
  server: z.string().optional().describe(
    'Only this Server (by name, e.g. "web-http"); default: every Server of the namespace with accessPolicy: audit',
  ),
  "time_range": z.string().default("1h").describe(
    'Audit window checked for would-be-denied traffic, a Prometheus duration from 1m to 30d (default "1h")',
  ),
  force: z.boolean().default(false).describe(
    "Enforce even though would-be-denied traffic was seen (or could not be checked): that traffic will be refused",
  ),
  "dry_run": z.boolean().default(true).describe(
    "Default true: only a server-side dry run. false: really switch accessPolicy to deny",
  ),
};

function flowText(f: AuditFlow, undetermined: boolean): z.infer<typeof flowOut> {
  const c = f.client;
  const client = c.unauthenticated
    ? `unauthenticated${c.workload ? ` (${c.workload})` : ""}`
    : c.identity ?? (c.serviceAccount && c.namespace
      ? `${c.namespace}/${c.serviceAccount}`
      : c.workload ?? "unknown client");
  const t = f.target;
  const target = `${t.namespace}/${t.server ?? t.service ?? t.workload ?? "?"}${
    t.port !== undefined ? `:${t.port}` : ""
  }${t.route ? ` route ${t.route}` : ""}`;
  return {
    client,
    target,
    protocol: f.protocol,
    ...(f.requestRate !== undefined ? { requestRate: f.requestRate } : {}),
    ...(f.connections !== undefined ? { connections: f.connections } : {}),
    reason: f.reason,
    undetermined,
  };
}

async function enforcePolicies(
  args: {
    namespace: string;
    server?: string;
    time_range: string;
    force: boolean;
    dry_run: boolean;
  },
  deps: ToolDeps,
  ctx: ToolContext,
  opts: WriteToolsOptions,
  hex: () => string,
) {
  const windowSeconds = parseDuration(args.time_range, "time_range");
  const writer = policyWriterFor(deps.cluster);
  const changeId = newChangeId(deps.now(), hex);
  const notes = [...sourceNote(writer)];
  const listed = await deps.cluster.list("servers", {
    namespace: args.namespace,
    signal: ctx.signal,
  });
  const inNs = listed.filter((s) => s.metadata.namespace === args.namespace);
  const accessPolicy = (s: KubeObject) =>
    ((s as { spec?: { accessPolicy?: unknown } }).spec?.accessPolicy ?? "deny") as string;
  let targets: KubeObject[];
  if (args.server !== undefined) {
    const s = inNs.find((x) => x.metadata.name === args.server);
    if (!s) {
      throw new InvalidArgumentError(
        `No Server "${args.server}" in namespace "${args.namespace}"${
          inNs.length
            ? `; its Servers: ${inNs.map((x) => x.metadata.name).join(", ")}`
            : " (it has no Server)"
        }`,
      );
    }
    if (accessPolicy(s) !== "audit") {
      throw new InvalidArgumentError(
        `Server "${args.server}" in namespace "${args.namespace}" has accessPolicy ${
          accessPolicy(s)
        }, not audit: there is nothing to enforce (enforce_policies switches audit to deny)`,
      );
    }
    targets = [s];
  } else {
    targets = inNs.filter((s) => accessPolicy(s) === "audit");
  }
  const base = {
    changeId,
    serverValidated: writer.serverValidated,
    window: args.time_range,
    forced: args.force,
  };
  if (targets.length === 0) {
    return ok({
      ...base,
      dryRun: true,
      written: false,
      refused: false,
      objects: [],
      wouldBeDenied: [],
      summary:
        `No Server in namespace "${args.namespace}" has accessPolicy: audit (${inNs.length} Server(s) there), so there is nothing to enforce. A namespace- or cluster-wide default policy of audit (config.linkerd.io/default-inbound-policy) is not changed by this tool.`,
      notes,
    });
  }
  // Would enforcing deny traffic seen in the window?
  const names = new Set(targets.map((s) => s.metadata.name));
  let blocking: z.infer<typeof flowOut>[] = [];
  let checkProblem: string | undefined;
  if (!opts.analyzeAudit) {
    checkProblem = "the audit analysis (analyze_audit) is not available in this server";
  } else {
    try {
      const found = await opts.analyzeAudit({
        cluster: deps.cluster,
        config: deps.config,
        prom: deps.prom,
        now: deps.now(),
        signal: ctx.signal,
      }, {
        namespace: args.namespace,
        windowSeconds,
        ...(args.server !== undefined ? { server: args.server } : {}),
      });
      const relevant = (f: AuditFlow) =>
        f.target.namespace === args.namespace &&
        (f.target.server === undefined || names.has(f.target.server));
      blocking = [
        ...found.wouldBeDenied.filter(relevant).map((f) => flowText(f, false)),
        ...(found.undetermined ?? []).filter(relevant).map((f) => flowText(f, true)),
      ];
      if (found.partial) {
        notes.push(
          "The audit analysis was partial (some data could not be read): see analyze_audit.",
        );
      }
      for (const n of found.notes ?? []) notes.push(`analyze_audit: ${n}`);
    } catch (err) {
      checkProblem = `the audit traffic could not be checked: ${
        describeError(err, "analyze_audit")
      }`;
    }
  }
  const serverList = targets.map((s) => s.metadata.name).join(", ");
  if ((blocking.length || checkProblem) && !args.force) {
    return ok({
      ...base,
      dryRun: true,
      written: false,
      refused: true,
      objects: [],
      wouldBeDenied: blocking,
      summary: checkProblem
        ? `Refused: ${checkProblem}; enforcing blind could refuse live traffic. Fix that (e.g. LINKERD_PROMETHEUS_URL) and retry, or pass force: true to enforce ${serverList} anyway.`
        : `Refused: in the last ${args.time_range}, ${blocking.length} flow(s) to ${serverList} were allowed only by audit mode and would be DENIED once enforced (listed in wouldBeDenied). Authorize them first (analyze_audit gives a checked fix for each, apply it with apply_policies), wait for a clean window, then retry; or pass force: true to deny them.`,
      notes,
    });
  }
  if (args.force && (blocking.length || checkProblem)) {
    notes.push(
      checkProblem
        ? `force: enforcing without an audit check (${checkProblem}).`
        : `force: ${blocking.length} flow(s) seen in the window WILL be denied (listed in wouldBeDenied).`,
    );
  }
  const results: ObjectResult[] = [];
  const patches = new Map<KubeObject, ReturnType<typeof enforcePatch>>();
  let refusedCount = 0;
  for (const listedServer of targets) {
    const ref = refOfObject(listedServer)!;
    const current = await writer.read(ref, ctx.signal) ?? listedServer;
    const ops = enforcePatch(current, changeId);
    const dry = await writer.patch(ref, ops, { dryRun: true, signal: ctx.signal });
    const r: ObjectResult = {
      kind: "Server",
      apiVersion: current.apiVersion,
      namespace: args.namespace,
      name: current.metadata.name,
      action: "update",
      changes: [],
      diff: [],
      written: false,
    };
    if (!dry.ok) {
      refusedCount++;
      r.error = dry.message;
      r.causes = dry.causes;
    } else {
      r.changes = visibleChanges(current, dry.object);
      r.diff = r.changes.map(formatChange);
      patches.set(current, ops);
    }
    results.push(r);
  }
  if (refusedCount || args.dry_run) {
    return ok({
      ...base,
      dryRun: true,
      written: false,
      refused: false,
      objects: results,
      wouldBeDenied: blocking,
      summary: refusedCount
        ? `Nothing was written: the dry run refused ${refusedCount} Server(s) (see objects[].error).`
        : `Dry run${
          writer.serverValidated ? " (server-side)" : " (in memory, not server-validated)"
        }: ${results.length} Server(s) would switch from accessPolicy audit to deny: ${serverList}. Call enforce_policies again with dry_run: false to enforce.`,
      notes: [...notes, bookkeepingNote(changeId)],
    });
  }
  if (writer.readOnlyReason) {
    return fail(`enforce_policies cannot write: ${writer.readOnlyReason}. Nothing was changed.`);
  }
  const refusal = await confirmWrite(
    ctx,
    `Switch ${results.length} Server(s) in namespace ${args.namespace} (${serverList}) from accessPolicy audit to deny on ${deps.cluster.describe()}? Traffic no policy authorizes will be refused. Change id ${changeId}.`,
    notes,
  );
  if (refusal) return fail(refusal);
  let failedAt: string | undefined;
  for (const [current, ops] of patches) {
    const r = results.find((x) => x.name === current.metadata.name)!;
    const res = await writer.patch(refOfObject(current)!, ops, {
      dryRun: false,
      signal: ctx.signal,
    });
    if (!res.ok) {
      r.error = res.message;
      r.causes = res.causes;
      failedAt = current.metadata.name;
      break;
    }
    r.written = true;
  }
  const written = results.filter((r) => r.written).length;
  return ok({
    ...base,
    dryRun: false,
    written: written > 0,
    refused: false,
    objects: results,
    wouldBeDenied: blocking,
    summary: failedAt
      ? `Partly enforced: ${written} Server(s) switched to deny, then the API server refused "${failedAt}" (see its error). Undo with rollback_policies {change_id: "${changeId}"}.`
      : `Enforced: ${written} Server(s) in namespace ${args.namespace} now have accessPolicy deny (${serverList}). Watch for 403s / refused connections; undo with rollback_policies {change_id: "${changeId}"}.`,
    rollback: rollbackHint(changeId),
    notes: [...notes, bookkeepingNote(changeId)],
  });
}

// ---------------------------------------------------------------- rollback_policies

const rollbackInput = {
  "change_id": z.string().describe(
    'The change id an apply_policies or enforce_policies answer gave, e.g. "c20261201-091500-a1b2c3"',
  ),
  "dry_run": z.boolean().default(true).describe(
    "Default true: only a server-side dry run of the rollback. false: really roll back",
  ),
};

async function rollbackPolicies(
  args: { change_id: string; dry_run: boolean },
  deps: ToolDeps,
  ctx: ToolContext,
) {
  if (!isChangeId(args.change_id)) {
    throw new InvalidArgumentError(
      `Cannot use change_id ${
        JSON.stringify(args.change_id.slice(0, 60))
      }: a change id looks like "c20261201-091500-a1b2c3" (from an apply_policies or enforce_policies answer)`,
    );
  }
  const writer = policyWriterFor(deps.cluster);
  const notes = [...sourceNote(writer)];
  const touched: KubeObject[] = [];
  for (const key of WRITABLE_KEYS) touched.push(...await writer.listTouched(key, ctx.signal));
  const steps = rollbackPlan(args.change_id, touched);
  if (steps.length === 0) {
    return fail(
      `No policy resource carries change ${args.change_id} (neither created by it nor holding its previous version): it was never really written, it was already rolled back, or its objects were deleted or edited by hand since. Nothing was changed.`,
    );
  }
  // Undo in the reverse of the apply order: Servers first.
  const rank = (o: KubeObject) => {
    const key = resourceKeyFor(o.apiVersion, o.kind);
    return key ? -APPLY_ORDER.indexOf(key) : 0;
  };
  steps.sort((a, b) => rank(a.object) - rank(b.object));
  const results: ObjectResult[] = [];
  let refused = 0;
  const doStep = async (step: (typeof steps)[number], dryRun: boolean) => {
    const ref = refOfObject(step.object)!;
    if (step.action === "delete") {
      return await writer.remove(ref, {
        ...(step.object.metadata.uid ? { uid: step.object.metadata.uid } : {}),
        ...(step.object.metadata.resourceVersion
          ? { resourceVersion: step.object.metadata.resourceVersion }
          : {}),
      }, { dryRun, signal: ctx.signal });
    }
    if (step.action === "restore") {
      return await writer.patch(ref, restorePatch(step.object, step.restored), {
        dryRun,
        signal: ctx.signal,
      });
    }
    return undefined;
  };
  for (const step of steps) {
    const o = step.object;
    const r: ObjectResult = {
      kind: o.kind,
      apiVersion: o.apiVersion,
      namespace: o.metadata.namespace ?? "",
      name: o.metadata.name,
      action: step.action,
      changes: [],
      diff: [],
      written: false,
    };
    if (step.action === "blocked") {
      refused++;
      r.error = `Cannot roll back ${o.kind} ${r.namespace}/${r.name}: ${step.reason}`;
      results.push(r);
      continue;
    }
    const dry = await doStep(step, true);
    if (dry && !dry.ok) {
      refused++;
      r.error = dry.message;
      r.causes = dry.causes;
    } else if (step.action === "delete") {
      r.changes = diffObjects(o, {}).length
        ? [{ path: "", op: "remove", before: `the whole ${o.kind}` }]
        : [];
      r.diff = [`- ${o.kind} ${r.namespace}/${r.name} (created by ${args.change_id})`];
    } else {
      r.changes = diffObjects(o, dry?.ok && dry.object ? dry.object : step.restored)
        .filter((c) => c.path !== "metadata.resourceVersion");
      r.diff = r.changes.map(formatChange);
    }
    results.push(r);
  }
  const plan = `${steps.filter((s) => s.action === "delete").length} to delete, ${
    steps.filter((s) => s.action === "restore").length
  } to restore`;
  if (refused || args.dry_run) {
    return ok({
      changeId: args.change_id,
      dryRun: true,
      serverValidated: writer.serverValidated,
      written: false,
      objects: results,
      summary: refused
        ? `Nothing was rolled back: ${refused} object(s) cannot be (see objects[].error). Otherwise ${plan}.`
        : `Dry run of the rollback of ${args.change_id}: ${plan}. Call rollback_policies again with dry_run: false to do it.`,
      notes,
    });
  }
  if (writer.readOnlyReason) {
    return fail(`rollback_policies cannot write: ${writer.readOnlyReason}. Nothing was changed.`);
  }
  const refusal = await confirmWrite(
    ctx,
    `Roll back change ${args.change_id} on ${deps.cluster.describe()}: ${plan}?`,
    notes,
  );
  if (refusal) return fail(refusal);
  let failedAt: string | undefined;
  for (const [i, step] of steps.entries()) {
    const res = await doStep(step, false);
    if (res && !res.ok) {
      results[i]!.error = res.message;
      results[i]!.causes = res.causes;
      failedAt =
        `${step.object.kind} ${step.object.metadata.namespace}/${step.object.metadata.name}`;
      break;
    }
    results[i]!.written = true;
  }
  return ok({
    changeId: args.change_id,
    dryRun: false,
    serverValidated: true,
    written: results.some((r) => r.written),
    objects: results,
    summary: failedAt
      ? `Partly rolled back: the API server refused ${failedAt} (see its error); call rollback_policies again to finish.`
      : `Rolled back ${args.change_id}: ${plan}.`,
    notes,
  });
}

/** The write family's tools; offered only when writes are enabled. */
// deno-lint-ignore no-explicit-any
export function writeTools(opts: WriteToolsOptions = {}): ToolSpec<any, any>[] {
  const hex = opts.randomHex ?? randomHex;
  const apply: ToolSpec<typeof applyInput, typeof commonOut> = {
    name: "apply_policies",
    title: "Apply Linkerd policy resources (writes)",
    description:
      'Creates or updates Linkerd policy resources (Server, AuthorizationPolicy, MeshTLSAuthentication, NetworkAuthentication, HTTPRoute, GRPCRoute; nothing else) from YAML, e.g. the yaml of generate_policies. Always a server-side dry run first, returning what is created or changed field by field; pass dry_run: false to really write (server-side apply, field manager linkerd-mcp). The answer gives a change_id for rollback_policies. Example: {"yaml": "apiVersion: policy.linkerd.io/v1beta3\\nkind: Server\\n...", "dry_run": true}',
    inputSchema: applyInput,
    outputSchema: commonOut,
    annotations: WRITE,
    handler: (args, deps, ctx) => applyPolicies(args, deps, ctx, hex),
  };
  const enforceOutput = {
    ...commonOut,
    refused: z.boolean().describe(
      "True when enforcing was refused because would-be-denied traffic was seen (or could not be checked) and force was not given",
    ),
    wouldBeDenied: z.array(flowOut).describe(
      "Flows in the window that only audit mode allowed: enforcing denies them",
    ),
    window: z.string(),
    forced: z.boolean(),
  };
  const enforce: ToolSpec<typeof enforceInput, typeof enforceOutput> = {
    name: "enforce_policies",
    title: "Enforce audited Servers (writes)",
    description:
      'Switches Linkerd Servers from accessPolicy: audit to deny, for every audited Server of a namespace or the one named. Refuses while analyze_audit sees traffic in time_range that enforcement would deny (listing it), unless force: true. A server-side dry run unless dry_run: false; the answer gives a change_id for rollback_policies. Example: {"namespace": "emojivoto", "time_range": "24h"}',
    inputSchema: enforceInput,
    outputSchema: enforceOutput,
    annotations: DESTRUCTIVE,
    handler: (args, deps, ctx) => enforcePolicies(args, deps, ctx, opts, hex),
  };
  const rollback: ToolSpec<typeof rollbackInput, typeof commonOut> = {
    name: "rollback_policies",
    title: "Roll back a policy change (writes)",
    description:
      'Undoes one change of apply_policies or enforce_policies by its change_id: deletes exactly the objects it created and restores the previous version of those it changed (refusing an object a later change touched too). A dry run unless dry_run: false. Example: {"change_id": "c20261201-091500-a1b2c3", "dry_run": false}',
    inputSchema: rollbackInput,
    outputSchema: commonOut,
    annotations: DESTRUCTIVE,
    handler: (args, deps, ctx) => rollbackPolicies(args, deps, ctx),
  };
  return [apply, enforce, rollback];
}
