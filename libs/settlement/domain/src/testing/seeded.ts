/** Seeded generators for property tests: reproducible from the seed printed on failure. */

/** mulberry32: small, seeded, reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
  constructor(private readonly next: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
  /** A decimal string from integer parts: never built from floating point. */
  decimal(minUnits: number, maxUnits: number, decimals: number): string {
    const units = this.int(minUnits, maxUnits);
    const neg = units < 0;
    const abs = String(Math.abs(units)).padStart(decimals + 1, '0');
    const s = decimals === 0 ? abs : `${abs.slice(0, abs.length - decimals)}.${abs.slice(abs.length - decimals)}`;
    return neg ? `-${s}` : s;
  }
}

