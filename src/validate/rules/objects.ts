/**
 * Rules about the manifests themselves: the same object defined more than once.
 *
 * @module
 */
import { type KubeObject, positionOf } from "../../kube/types.ts";
import type { Rule } from "../types.ts";
import { DOCS } from "./_docs.ts";

function at(o: KubeObject): string {
  const p = positionOf(o);
  return p ? `at ${p.file}:${p.line}` : "in another document";
}

function id(o: KubeObject): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;
}

/** Object rules. */
export const OBJECT_RULES: Rule[] = [
  {
    id: "object-defined-twice",
    // A warning: a folder may hold several clusters' manifests, or kustomize patches.
    severity: "warning",
    kind: "*",
    field: "metadata.name",
    summary:
      "The same object is defined twice with different content; the cluster keeps whichever is applied last",
    remediation:
      "Keep one definition of the object (merge the two), or rename one if they are meant to be two objects; if the files are for different clusters, or one is a kustomize patch, validate each cluster's rendered manifests separately",
    docs: DOCS.gitops,
    check: (ctx) =>
      ctx.duplicates.filter((d) => !d.identical).map((d) => ({
        obj: d.obj,
        message: `${id(d.obj)} is defined twice: here and ${
          at(d.kept)
        }, with different content. They are one object, not two: applying both keeps whichever is applied last (with kubectl apply -f on a folder, the one ${
          at(d.kept)
        }), and the other definition is silently lost. The other findings are for that definition`,
      })),
  },
  {
    id: "object-duplicated",
    severity: "info",
    kind: "*",
    field: "metadata.name",
    summary: "The same object is defined twice with the same content",
    remediation: "Delete one of the two identical definitions",
    docs: DOCS.gitops,
    check: (ctx) =>
      ctx.duplicates.filter((d) => d.identical).map((d) => ({
        obj: d.obj,
        message: `${id(d.obj)} is defined twice with the same content (here and ${
          at(d.kept)
        }); it is one object`,
      })),
  },
];
