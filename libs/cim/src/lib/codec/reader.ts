import { CimParseError } from '../errors';
import { PARTY_CODING_SCHEMES, type PartyCodingScheme, type PartyId } from '../model/common';
import type { XNode } from '../xnode';
import { checkDateTime, checkDecimal, checkGsrn, checkPartyId, type ParseContext, where } from './validate';

/** Order-independent, validating access to one element's children; every error names the field and its path. */
export class NodeReader {
  constructor(
    readonly node: XNode,
    readonly path: string,
    readonly ctx: ParseContext,
  ) {}

  private find(name: string): XNode | undefined {
    let found: XNode | undefined;
    for (const c of this.node.children) {
      if (c.name !== name) continue;
      if (found) throw new CimParseError('DUPLICATE_FIELD', `${name} occurs more than once`, { field: name, path: where(this.path, name) });
      found = c;
    }
    return found;
  }

  private required(name: string): XNode {
    const n = this.find(name);
    if (!n) throw new CimParseError('MISSING_FIELD', `${name} is missing`, { field: name, path: where(this.path, name) });
    return n;
  }

  has(name: string): boolean {
    return this.find(name) !== undefined;
  }

  child(name: string): NodeReader {
    return new NodeReader(this.required(name), where(this.path, name), this.ctx);
  }

  optChild(name: string): NodeReader | undefined {
    const n = this.find(name);
    return n ? new NodeReader(n, where(this.path, name), this.ctx) : undefined;
  }

  all(name: string): NodeReader[] {
    const out: NodeReader[] = [];
    for (const c of this.node.children) {
      if (c.name === name) out.push(new NodeReader(c, where(this.path, `${name}[${out.length}]`), this.ctx));
    }
    return out;
  }

  str(name: string): string {
    const n = this.required(name);
    if (n.text === '') throw new CimParseError('MISSING_FIELD', `${name} is empty`, { field: name, path: where(this.path, name) });
    return n.text;
  }

  optStr(name: string): string | undefined {
    const n = this.find(name);
    return n && n.text !== '' ? n.text : undefined;
  }

  code<T extends string>(name: string, allowed: readonly T[]): T {
    return this.checkCode(name, this.str(name), allowed);
  }

  optCode<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.optStr(name);
    return v === undefined ? undefined : this.checkCode(name, v, allowed);
  }

  /** A code matching a pattern (e.g. metering point types E17/E18/E20/Dnn). */
  pattern<T extends string>(name: string, re: RegExp, guard: (v: string) => v is T): T {
    const v = this.str(name);
    if (re.test(v) && guard(v)) return v;
    throw new CimParseError('UNKNOWN_CODE', `${name} "${v}" is not a known code`, { field: name, path: where(this.path, name) });
  }

  private checkCode<T extends string>(name: string, v: string, allowed: readonly T[]): T {
    const hit = allowed.find((a) => a === v);
    if (hit === undefined) {
      throw new CimParseError('UNKNOWN_CODE', `${name} "${v}" is not one of ${allowed.join(', ')}`, { field: name, path: where(this.path, name) });
    }
    return hit;
  }

  dateTime(name: string): string {
    return checkDateTime(this.str(name), name, where(this.path, name));
  }

  optDateTime(name: string): string | undefined {
    const v = this.optStr(name);
    return v === undefined ? undefined : checkDateTime(v, name, where(this.path, name));
  }

  decimal(name: string): string {
    return checkDecimal(this.str(name), name, where(this.path, name));
  }

  optDecimal(name: string): string | undefined {
    const v = this.optStr(name);
    return v === undefined ? undefined : checkDecimal(v, name, where(this.path, name));
  }

  bool(name: string): boolean | undefined {
    const v = this.optStr(name);
    if (v === undefined) return undefined;
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw new CimParseError('INVALID_VALUE', `${name} "${v}" is not true/false`, { field: name, path: where(this.path, name) });
  }

  party(name: string): PartyId {
    const n = this.required(name);
    const path = where(this.path, name);
    const scheme = n.attrs?.['codingScheme'];
    const codingScheme = PARTY_CODING_SCHEMES.find((s): s is PartyCodingScheme => s === scheme);
    if (!codingScheme) {
      throw new CimParseError('UNKNOWN_CODE', `${name} codingScheme "${scheme ?? ''}" is not A10 (GLN) or A01 (EIC)`, { field: name, path });
    }
    return { codingScheme, value: checkPartyId(codingScheme, n.text, name, path, this.ctx) };
  }

  optParty(name: string): PartyId | undefined {
    return this.has(name) ? this.party(name) : undefined;
  }

  gsrn(name: string): string {
    const n = this.required(name);
    const path = where(this.path, name);
    const scheme = n.attrs?.['codingScheme'];
    if (scheme !== undefined && scheme !== 'A10') {
      throw new CimParseError('UNKNOWN_CODE', `${name} codingScheme "${scheme}" is not A10`, { field: name, path });
    }
    return checkGsrn(n.text, name, path, this.ctx);
  }

  optGsrn(name: string): string | undefined {
    return this.has(name) ? this.gsrn(name) : undefined;
  }

  /** Grid area, codingScheme NDK, 3 digits in Denmark. */
  area(name: string): string {
    const v = this.str(name);
    if (/^\d{3}$/.test(v) || (this.ctx.identifiers === 'lenient' && v.length <= 18)) return v;
    throw new CimParseError('INVALID_VALUE', `${name} "${v}" is not a grid area (3 digits)`, { field: name, path: where(this.path, name) });
  }

  optArea(name: string): string | undefined {
    return this.has(name) ? this.area(name) : undefined;
  }

  attr(name: string): string | undefined {
    return this.node.attrs?.[name];
  }
}
