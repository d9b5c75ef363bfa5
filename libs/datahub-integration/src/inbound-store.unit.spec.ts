import { createHash } from 'node:crypto';
import { bodyHash } from './inbound-store';

/** The digest documents were stored with before 2026-12-06: SHA-256 of the body text's UTF-8. */
const textDigest = (body: string): string => createHash('sha256').update(body, 'utf8').digest('hex');
const received = (bytes: Buffer) => ({ body: new TextDecoder().decode(bytes), bytes });

describe('bodyHash', () => {
  it.each([
    ['ASCII XML', Buffer.from('<?xml version="1.0"?><a>1.000</a>', 'utf8')],
    ['two-, three- and four-byte characters', Buffer.from('Søren € 😀', 'utf8')],
    ['a byte order mark (dropped by decoding)', Buffer.from([0xef, 0xbb, 0xbf, 0x3c, 0x61, 0x2f, 0x3e])],
    ['bytes that are not UTF-8 (read as U+FFFD)', Buffer.from([0x3c, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0x3e])],
    ['three bad bytes read as one U+FFFD of three bytes', Buffer.from([0x3c, 0xf0, 0x9f, 0x98, 0x3e])],
    ['an empty body', Buffer.alloc(0)],
    ['one byte that is not UTF-8, read as one U+FFFD (as many characters as bytes, not ASCII)', Buffer.from([0xe9])],
    ['a bad byte between ASCII (as many characters as bytes, not ASCII)', Buffer.from([0x3c, 0xff, 0x3e])],
  ])('%s: the digest of the body text, as before', (_what, bytes) => {
    const message = received(bytes);
    expect(bodyHash(message)).toBe(textDigest(message.body));
  });

  it('hashes ASCII bytes read as Latin-1 (the client\'s bodyText) as they are', () => {
    const bytes = Buffer.from('<?xml version="1.0"?><a>1.000</a>', 'latin1');
    expect(bodyHash({ body: bytes.toString('latin1'), bytes })).toBe(textDigest('<?xml version="1.0"?><a>1.000</a>'));
  });

  it('hashes the text when there are no bytes, or bytes of another length than its UTF-8 (a test double)', () => {
    expect(bodyHash({ body: 'abc' })).toBe(textDigest('abc'));
    expect(bodyHash({ body: 'abc', bytes: Buffer.from('abcd', 'utf8') })).toBe(textDigest('abc'));
  });

  it('hashes well-formed bytes as they are (the same digest without encoding the text again)', () => {
    const bytes = Buffer.from('<a>1.000</a>', 'utf8');
    // A body that is not the bytes' text would show which one was hashed; the inbox always gives the bytes' text.
    expect(bodyHash({ body: '<a>2.000</a>', bytes })).toBe(textDigest('<a>1.000</a>'));
  });
});
