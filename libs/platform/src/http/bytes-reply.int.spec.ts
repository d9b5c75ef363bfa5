import { Controller, Get, Header, Res, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Response } from 'express';
import request from 'supertest';
import { BytesReplyExpressAdapter } from './bytes-reply';

const BYTES = Buffer.from([0x00, 0xff, 0x7b, 0x22, 0x0a, 0x80]);

@Controller()
class BytesController {
  @Get('buffer')
  @Header('Content-Type', 'application/x-test')
  buffer(@Res({ passthrough: true }) response: Response): Buffer {
    response.setHeader('Content-Encoding', 'identity');
    return BYTES;
  }

  @Get('view')
  view(): Uint8Array {
    // A view into a larger buffer: only its own bytes are sent.
    const backing = new Uint8Array(16).fill(9);
    backing.set(BYTES, 5);
    return backing.subarray(5, 5 + BYTES.length);
  }

  @Get('object')
  object(): { bytes: number } {
    return { bytes: BYTES.length };
  }
}

describe('BytesReplyExpressAdapter', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [BytesController] }).compile();
    app = moduleRef.createNestApplication(new BytesReplyExpressAdapter());
    await app.init();
  });
  afterAll(async () => app?.close());

  const raw = (path: string) =>
    request(app.getHttpServer())
      .get(path)
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);

  it('sends a Buffer as its bytes, with the headers the handler set', async () => {
    const res = await raw('/buffer');
    expect(res.body).toEqual(BYTES);
    expect(res.headers['content-type']).toBe('application/x-test');
    expect(res.headers['content-encoding']).toBe('identity');
    expect(res.headers['content-length']).toBe(String(BYTES.length));
  });

  it('sends another Uint8Array as its own bytes, as application/octet-stream when no type was set', async () => {
    const res = await raw('/view');
    expect(res.body).toEqual(BYTES);
    expect(res.headers['content-type']).toBe('application/octet-stream');
  });

  it('replies anything else as Nest does (an object as JSON)', async () => {
    const res = await request(app.getHttpServer()).get('/object').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ bytes: BYTES.length });
  });
});
