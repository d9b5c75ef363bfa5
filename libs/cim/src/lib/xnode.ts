import type { MeasurePoint } from './model/measure';

/**
 * The format-neutral element tree both XML and JSON are read into and written from.
 * `name` is the CIM local name ("marketEvaluationPoint.mRID"); `points` holds RSM-012/014 points
 * already validated by the streaming XML reader, so that no per-point element nodes are built.
 */
export interface XNode {
  readonly name: string;
  attrs: Record<string, string> | undefined;
  text: string;
  readonly children: XNode[];
  points?: MeasurePoint[];
}

export function node(name: string, children: XNode[] = [], attrs?: Record<string, string>): XNode {
  return { name, attrs, text: '', children };
}

export function leaf(name: string, text: string, attrs?: Record<string, string>): XNode {
  return { name, attrs, text, children: [] };
}
