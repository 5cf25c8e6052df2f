export type FlowEntry = Record<string, unknown> & { id: string; type: string };
export function combineExamples(examples: { file: string; nodes: FlowEntry[] }[]): FlowEntry[];
export function combineExampleDir(dir: string): { files: string[]; flows: FlowEntry[] };
