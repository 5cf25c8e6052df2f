/** The part of pg-copy-streams (which ships no types) that the writer uses. */
declare module "pg-copy-streams" {
  import type { Writable } from "node:stream";
  import type { Submittable } from "pg";

  export interface CopyStreamQuery extends Writable, Submittable {
    /** Rows the server reported for the COPY, once it has finished. */
    rowCount: number;
  }

  export function from(sql: string): CopyStreamQuery;
}
