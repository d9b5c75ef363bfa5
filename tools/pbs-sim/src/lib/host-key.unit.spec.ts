import { utils } from 'ssh2';
import { hostKeyPair } from './sftp-server';

describe("the SFTP simulator's host key", () => {
  it('is always a key ssh2 can read (its own generator makes about 1 unreadable ed25519 key in 256)', () => {
    // 2,000 draws: without the re-draw, an unreadable key is all but certain among them.
    for (let i = 0; i < 2000; i++) {
      const parsed = utils.parseKey(hostKeyPair());
      expect(parsed instanceof Error ? parsed.message : 'readable').toBe('readable');
    }
  });
});
