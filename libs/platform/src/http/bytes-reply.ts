import { ExpressAdapter } from '@nestjs/platform-express';
import type { Response } from 'express';

/**
 * Nest's Express adapter, with one addition: a handler (or interceptor) that returns bytes (a `Buffer` or another
 * `Uint8Array`) has them sent as they are, with the `Content-Type` (and any `Content-Encoding`) it set on the response,
 * where Nest would serialise them as a JSON object. Everything else is replied as Nest does. For answers made as
 * bytes ahead (e.g. a gzip answer stitched from pre-compressed parts) without a stream per answer (`StreamableFile`).
 */
export class BytesReplyExpressAdapter extends ExpressAdapter {
  override reply(response: Response, body: unknown, statusCode?: number): unknown {
    if (body instanceof Uint8Array) {
      if (statusCode) response.status(statusCode);
      if (response.getHeader('Content-Type') === undefined) response.setHeader('Content-Type', 'application/octet-stream');
      return response.send(Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    }
    return super.reply(response, body, statusCode);
  }
}
