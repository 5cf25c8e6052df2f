export * from "./types";
export * from "./mapping";
export * from "./client";
export * from "./control";
