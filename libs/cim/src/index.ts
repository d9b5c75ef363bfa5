export {
  DEFAULT_MAX_BYTES,
  parseCimJson,
  parseCimXml,
  parseRsm012Xml,
  Rsm012XmlStreamParser,
  writeCimJson,
  writeCimXml,
  type CimParseOptions,
} from './lib/api';
export type { Strictness } from './lib/codec/validate';
export { CimParseError, type CimErrorCode } from './lib/errors';
export { UnwritableXmlTextError } from './lib/xml/write-xml';
export * from './lib/model/common';
export type * from './lib/model/measure';
export type * from './lib/model/wholesale';
export type * from './lib/model/requests';
export type * from './lib/model/supplier-processes';
export type * from './lib/model/master-data';
export type * from './lib/model/charges';
export type * from './lib/model/responses';
export type * from './lib/model/document';
export { fromThousandths, isPackedPoints, packPeriodPoints, packPoints, seriesPointsOf, toThousandths, unpackPoints, type PackedPoints, type UnpackedPoint } from './lib/packed/packed-points';
