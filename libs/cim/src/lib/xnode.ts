import type { QualityCode } from './model/common';
import type { MeasurePoint } from './model/measure';

/**
 * The points of a Period as the XML fast path read them, without an object or a string per point (issue 8): their
 * count (positions 1..count, checked consecutive while reading), their quantities as integer thousandths where every
 * one fits (`@dh/cim` `toThousandths`'s rule), their qualities as runs, and the points themselves built on demand.
 */
export interface ScannedPoints {
  /** Positions 1..count. */
  readonly count: number;
  /** Thousandths of the unit per position (null: no quantity), or null when some quantity has more than 3 decimals or 12 integer digits. */
  readonly thousandths: (number | null)[] | null;
  /** The qualities as runs `[code or null, how many]`, covering the points in order. */
  readonly qualities: [QualityCode | null, number][];
  /** The points as the strict reader gives them (a new array of new objects on each call). */
  points(): MeasurePoint[];
}

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
  /** A Period's points read by the XML fast path (instead of `points`). */
  scanned?: ScannedPoints;
}

export function node(name: string, children: XNode[] = [], attrs?: Record<string, string>): XNode {
  return { name, attrs, text: '', children };
}

export function leaf(name: string, text: string, attrs?: Record<string, string>): XNode {
  return { name, attrs, text, children: [] };
}
