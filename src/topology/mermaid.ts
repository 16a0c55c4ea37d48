/**
 * A {@linkcode Topology} as a Mermaid `flowchart`: one node per workload or Service
 * (grouped in a subgraph per namespace), one labelled arrow per request edge, a
 * plain line from a Service to the workloads behind it, and `linkStyle` lines that
 * colour the arrows by policy verdict (green allowed, orange audit, yellow partial,
 * red dashed denied, grey undetermined/unknown). Pure.
 *
 * @module
 */
import type { EdgeVerdict, Topology, TopologyEdge } from "./graph.ts";

/** The stroke of an arrow per verdict. */
export const VERDICT_STYLE: Record<EdgeVerdict, string> = {
  allowed: "stroke:#2e7d32,stroke-width:2px",
  audit: "stroke:#ef6c00,stroke-width:2px",
  partial: "stroke:#f9a825,stroke-width:2px",
  denied: "stroke:#c62828,stroke-width:2px,stroke-dasharray:5 5",
  undetermined: "stroke:#757575,stroke-width:1px",
  unknown: "stroke:#757575,stroke-width:1px",
};

/** Text safe inside a Mermaid `"..."` label (quotes and markup characters as entities). */
export function mermaidText(s: string): string {
  return s.replace(/[#"<>&|[\]{}()]/g, (c) => `#${c.charCodeAt(0)};`);
}

function edgeLabel(e: TopologyEdge): string {
  const parts: string[] = [];
  if (e.observed === "traffic") {
    parts.push(`${e.requestRate} rps`);
    if (e.successRate !== null) parts.push(`${e.successRate}% ok`);
    parts.push(
      e.mtls === "all" ? "mTLS" : e.mtls === "none" ? "no mTLS" : `mTLS ${e.mtlsPercent}%`,
    );
  }
  if (e.deniedRate > 0) parts.push(`${e.deniedRate} rps denied`);
  parts.push(e.verdict);
  return parts.join(", ");
}

/** Renders the graph as a Mermaid flowchart (left to right). */
export function renderMermaid(t: Topology): string {
  const lines = ["flowchart LR"];
  const byNs = new Map<string, typeof t.nodes>();
  for (const n of t.nodes) {
    const list = byNs.get(n.namespace) ?? [];
    list.push(n);
    byNs.set(n.namespace, list);
  }
  let sg = 0;
  for (const [ns, nodes] of byNs) {
    const decl = nodes.map((n) => {
      const label = mermaidText(n.kind === "service" ? `svc/${n.name}` : n.name);
      return n.kind === "service" ? `${n.id}(["${label}"])` : `${n.id}["${label}"]`;
    });
    if (ns) {
      lines.push(`  subgraph ns${sg++}["${mermaidText(ns)}"]`);
      for (const d of decl) lines.push(`    ${d}`);
      lines.push("  end");
    } else {
      for (const d of decl) lines.push(`  ${d}`);
    }
  }
  const styles = new Map<string, number[]>();
  let link = 0;
  for (const e of t.edges) {
    const arrow = e.verdict === "denied" ? "-.->" : "-->";
    lines.push(`  ${e.from} ${arrow}|"${mermaidText(edgeLabel(e))}"| ${e.to}`);
    const style = VERDICT_STYLE[e.verdict];
    styles.set(style, [...(styles.get(style) ?? []), link++]);
  }
  const ids = new Map(t.nodes.map((n) => [`${n.namespace}\u0000${n.name}`, n.id]));
  const backing: number[] = [];
  for (const n of t.nodes) {
    for (const w of n.workloads ?? []) {
      const wid = ids.get(`${n.namespace}\u0000${w}`);
      if (!wid) continue;
      lines.push(`  ${n.id} --- ${wid}`);
      backing.push(link++);
    }
  }
  for (const [style, idx] of styles) lines.push(`  linkStyle ${idx.join(",")} ${style}`);
  if (backing.length) {
    lines.push(`  linkStyle ${backing.join(",")} stroke:#bdbdbd,stroke-width:1px`);
  }
  if (t.omitted.edges > 0) {
    lines.push(
      `  more["${t.omitted.edges} more edges, ${t.omitted.requestRate} rps, not drawn"]`,
    );
  }
  return lines.join("\n");
}
