import type { Readable } from 'node:stream';
import SftpClient from 'ssh2-sftp-client';

/** Where Betalingsservice's file channel is: `sftp://user:password@host:port`, `/in` for deliveries, `/out` for information. */
export interface SftpSettings {
  host: string;
  port: number;
  username: string;
  password: string;
}

export function parseSftpUrl(url: string): SftpSettings {
  const u = new URL(url);
  if (u.protocol !== 'sftp:') throw new Error(`BETALINGSSERVICE_SFTP_URL must be sftp://user:password@host:port, got ${u.protocol}`);
  return { host: u.hostname, port: u.port ? Number(u.port) : 22, username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
}

/**
 * The file channel to Betalingsservice over SFTP (`ssh2-sftp-client`, the maintained promise client over `ssh2`).
 * One connection per exchange, closed afterwards. A delivery is written to `<name>.part` and then renamed, so the
 * receiver never reads a half-written file; a name that exists already is not overwritten.
 */
export class BetalingsserviceSftp {
  constructor(private readonly settings: SftpSettings) {}

  private async with<T>(work: (c: SftpClient) => Promise<T>): Promise<T> {
    const client = new SftpClient('betalingsservice');
    await client.connect({ ...this.settings, retries: 1, readyTimeout: 10_000 });
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  /** Uploads a delivery to `/in/<name>` (via `/in/<name>.part`); true when uploaded, false when it was there already. */
  async deliver(name: string, content: Readable): Promise<boolean> {
    return this.with(async (c) => {
      if (await c.exists(`/in/${name}`)) return false;
      await c.put(content, `/in/${name}.part`);
      await c.rename(`/in/${name}.part`, `/in/${name}`);
      return true;
    });
  }

  async listInformation(): Promise<string[]> {
    return this.with(async (c) => (await c.list('/out')).map((f) => f.name).sort());
  }

  async fetch(name: string): Promise<Buffer> {
    return this.with(async (c) => (await c.get(`/out/${name}`)) as Buffer);
  }
}
