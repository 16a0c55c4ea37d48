/**
 * The advertised tool table (`tools/list`), computed from the tool specs: input schemas
 * are strict (`additionalProperties: false`) and take `cluster`, and every output schema
 * carries the central `dataSource` field.
 *
 * This computation loads every tool module and its domain, and converts every schema
 * (`z.toJSONSchema`), which the server cannot afford before its first answer. The server
 * therefore answers `tools/list` from `listing.gen.ts`, written from this function by
 * `scripts/gen_listing.ts`; `tests/tools_listing_test.ts` keeps the two equal.
 *
 * @module
 */
import { z } from "zod";
import { inputShapeOf, resultSchema } from "./_spec.ts";
import { allTools } from "./mod.ts";
import type { ToolListing } from "./table.ts";

const listings = new Map<boolean, ToolListing[]>();

/**
 * The advertised tool table, computed once per `writes` (the write tools are listed only
 * when writes are enabled).
 */
export function toolListing(writes = false): ToolListing[] {
  const cached = listings.get(writes);
  if (cached) return cached;
  const listing = allTools({ writes }).map((spec) => ({
    name: spec.name,
    title: spec.title,
    description: spec.description,
    inputSchema: jsonSchema(z.object(inputShapeOf(spec)).strict(), "input"),
    outputSchema: jsonSchema(resultSchema(spec), "output"),
    annotations: { title: spec.title, ...spec.annotations },
  }));
  listings.set(writes, listing);
  return listing;
}

function jsonSchema(schema: z.ZodType, io: "input" | "output") {
  return z.toJSONSchema(schema, { target: "draft-7", io }) as ToolListing["inputSchema"];
}
