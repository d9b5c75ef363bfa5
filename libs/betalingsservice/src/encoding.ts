/**
 * A delivery file as bytes: ISO-8859-1 (the records are checked to be printable Latin-1 when
 * written), each record followed by CR LF. Lines are grouped into chunks so a 100,000-record
 * delivery is written in a few hundred writes, not 100,000.
 */
export async function* toDeliveryBytes(lines: AsyncIterable<string> | Iterable<string>, linesPerChunk = 512): AsyncGenerator<Buffer> {
  let chunk: string[] = [];
  for await (const line of lines) {
    chunk.push(line);
    if (chunk.length >= linesPerChunk) {
      yield Buffer.from(`${chunk.join('\r\n')}\r\n`, 'latin1');
      chunk = [];
    }
  }
  if (chunk.length > 0) yield Buffer.from(`${chunk.join('\r\n')}\r\n`, 'latin1');
}
