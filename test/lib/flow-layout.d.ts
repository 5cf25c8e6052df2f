export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}
export interface LayoutItem {
  id: string;
  label: string;
  body: Box;
  status?: Box;
}
export const NO_STATUS: Set<string>;
export function showsStatus(node: { type: string; tostatus?: boolean }): boolean;
export function intersects(a: Box, b: Box, margin?: number, marginY?: number): boolean;
export function layoutProblems(items: LayoutItem[], margin?: number, bodyGap?: { x: number; y: number }): string[];
