import { mulberry32 } from '@dh/testing';
import { textProblemOf } from './inbox-loop';

/** What the inbox refused before 2026-12-06: the bytes a fatal `TextDecoder` throws on. */
function decoderRefuses(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

const message = (bytes: Buffer) => ({ messageId: 'm', contentType: 'application/xml', body: new TextDecoder().decode(bytes), bytes });

describe('textProblemOf', () => {
  it.each([
    ['ASCII', [0x3c, 0x61, 0x3e], false],
    ['two-, three- and four-byte characters', [0xc3, 0xb8, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80], false],
    ['a byte order mark', [0xef, 0xbb, 0xbf, 0x3c], false],
    ['a stray continuation byte', [0x3c, 0x80], true],
    ['an overlong encoding', [0xc0, 0x80], true],
    ['an encoded surrogate', [0xed, 0xa0, 0x80], true],
    ['a code point beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80], true],
    ['a sequence cut at the end', [0x3c, 0xe2, 0x82], true],
    ['a byte never in UTF-8', [0xff], true],
  ])('%s: refused %s', (_what, bytes, refused) => {
    const buffer = Buffer.from(bytes);
    expect(decoderRefuses(buffer)).toBe(refused);
    expect(textProblemOf(message(buffer)) !== null).toBe(refused);
    if (refused) expect(textProblemOf(message(buffer))).toBe(`INVALID_ENCODING: the body (${bytes.length} bytes) is not valid UTF-8; kept as received`);
  });

  it('refuses exactly the bytes a fatal TextDecoder refuses (20,000 random buffers, mostly valid text with a damaged byte)', () => {
    const next = mulberry32(2026);
    const samples = ['<cim:quantity>1.5</cim:quantity>', 'Søren Ærø', '€ 12', '😀 x', 'plain'];
    let refused = 0;
    for (let n = 0; n < 20_000; n++) {
      const bytes = Buffer.from(samples[Math.floor(next() * samples.length)]!, 'utf8');
      const damage = Math.floor(next() * 3);
      for (let k = 0; k < damage; k++) bytes[Math.floor(next() * bytes.length)] = 0x80 + Math.floor(next() * 0x80);
      const problem = textProblemOf(message(bytes));
      expect(problem?.startsWith('INVALID_ENCODING') ?? false).toBe(decoderRefuses(bytes));
      if (problem) refused++;
    }
    expect(refused).toBeGreaterThan(5_000);
  });

  it('finds a NUL character in valid UTF-8', () => {
    expect(textProblemOf(message(Buffer.from('<a>\u0000</a>', 'utf8')))).toBe('INVALID_CHARACTER: the body has a NUL character at offset 3; kept as received');
  });
});
