export type FlowEntry = Record<string, unknown> & { id: string; type: string };
export function combineExamples(examples: { file: string; nodes: FlowEntry[] }[]): FlowEntry[];
export function requiredModules(nodes: unknown): string[];
export function combineExampleDir(
  dir: string,
  installed?: (moduleName: string) => boolean,
): { files: string[]; flows: FlowEntry[]; skipped: { file: string; missing: string[] }[] };
