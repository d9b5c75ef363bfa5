import { Server, utils, type Connection, type SFTPWrapper } from 'ssh2';
import type { AddressInfo } from 'node:net';

const { STATUS_CODE, OPEN_MODE } = utils.sftp;

/** A file in the simulator's memory, by absolute path (`/in/…`, `/out/…`). */
export interface StoredFile {
  data: Buffer;
  mtime: number;
}

/**
 * A fresh ed25519 host key that ssh2 itself can read back. ssh2's `generateKeyPairSync('ed25519')` strips leading zero
 * bytes of the public key, so about 1 key in 256 is refused by its own parser ("Malformed OpenSSH private key";
 * mscdex/ssh2 issues 1390 and 1513): such a key is drawn again.
 */
export function hostKeyPair(attempts = 64): string {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) return pair.private;
  }
  throw new Error(`no readable ed25519 host key in ${attempts} attempts`);
}

/**
 * A real SFTP server (SSH 2, password authentication) over an in-memory file system of two folders: `/in`
 * (deliveries to Betalingsservice) and `/out` (information deliveries from it). Enough of the SFTP protocol for a
 * client that uploads (open/write/close, rename), lists, stats, downloads (open/read/close) and removes files.
 */
export class InMemorySftpServer {
  readonly files = new Map<string, StoredFile>();
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  port = 0;
  readonly hostKey = hostKeyPair();

  constructor(
    private readonly credentials: { username: string; password: string },
    private readonly onUpload: (path: string, data: Buffer) => void,
  ) {}

  async listen(port = 0): Promise<number> {
    this.server = new Server({ hostKeys: [this.hostKey] }, (client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.end();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Connection): void {
    this.connections.add(client);
    client.on('close', () => this.connections.delete(client));
    client.on('error', () => this.connections.delete(client));
    client.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.username === this.credentials.username && ctx.password === this.credentials.password) ctx.accept();
      else ctx.reject(['password']);
    });
    client.on('ready', () => client.on('session', (acceptSession) => acceptSession().on('sftp', (acceptSftp) => this.serve(acceptSftp()))));
  }

  private serve(sftp: SFTPWrapper): void {
    type Handle = { kind: 'read'; path: string; data: Buffer } | { kind: 'write'; path: string; chunks: Buffer[]; size: number } | { kind: 'dir'; entries: string[]; done: boolean };
    const handles = new Map<number, Handle>();
    let next = 1;
    const open = (h: Handle): Buffer => {
      const id = next++;
      handles.set(id, h);
      const b = Buffer.alloc(4);
      b.writeUInt32BE(id);
      return b;
    };
    const handleOf = (b: Buffer): Handle | undefined => (b.length === 4 ? handles.get(b.readUInt32BE(0)) : undefined);
    const norm = (p: string): string => `/${p.split('/').filter((s) => s !== '' && s !== '.').join('/')}`;
    const isDir = (p: string): boolean => p === '/' || p === '/in' || p === '/out';
    const attrsOf = (p: string) => {
      const f = this.files.get(p);
      const now = Math.floor(Date.now() / 1000);
      return f ? { mode: 0o100644, uid: 0, gid: 0, size: f.data.length, atime: f.mtime, mtime: f.mtime } : { mode: 0o040755, uid: 0, gid: 0, size: 0, atime: now, mtime: now };
    };
    sftp
      .on('REALPATH', (reqid, path) => {
        const p = norm(path);
        sftp.name(reqid, [{ filename: p, longname: p, attrs: attrsOf(p) }]);
      })
      .on('STAT', (reqid, path) => {
        const p = norm(path);
        if (isDir(p) || this.files.has(p)) sftp.attrs(reqid, attrsOf(p));
        else sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
      })
      .on('LSTAT', (reqid, path) => {
        const p = norm(path);
        if (isDir(p) || this.files.has(p)) sftp.attrs(reqid, attrsOf(p));
        else sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
      })
      .on('OPEN', (reqid, filename, flags) => {
        const p = norm(filename);
        if (flags & OPEN_MODE.WRITE) {
          if (!p.startsWith('/in/')) return sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'deliveries go to /in');
          return sftp.handle(reqid, open({ kind: 'write', path: p, chunks: [], size: 0 }));
        }
        const f = this.files.get(p);
        if (f === undefined) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
        return sftp.handle(reqid, open({ kind: 'read', path: p, data: f.data }));
      })
      .on('FSTAT', (reqid, handle) => {
        const h = handleOf(handle);
        if (h === undefined || h.kind === 'dir') return sftp.status(reqid, STATUS_CODE.FAILURE);
        sftp.attrs(reqid, h.kind === 'read' ? attrsOf(h.path) : { mode: 0o100644, uid: 0, gid: 0, size: h.size, atime: 0, mtime: 0 });
      })
      .on('WRITE', (reqid, handle, offset, data) => {
        const h = handleOf(handle);
        if (h === undefined || h.kind !== 'write') return sftp.status(reqid, STATUS_CODE.FAILURE);
        h.chunks.push(Buffer.from(data));
        h.size += data.length;
        sftp.status(reqid, offset + data.length >= 0 ? STATUS_CODE.OK : STATUS_CODE.FAILURE);
      })
      .on('READ', (reqid, handle, offset, length) => {
        const h = handleOf(handle);
        if (h === undefined || h.kind !== 'read') return sftp.status(reqid, STATUS_CODE.FAILURE);
        if (offset >= h.data.length) return sftp.status(reqid, STATUS_CODE.EOF);
        sftp.data(reqid, h.data.subarray(offset, Math.min(h.data.length, offset + length)));
      })
      .on('CLOSE', (reqid, handle) => {
        const h = handleOf(handle);
        if (h === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
        handles.delete(handle.readUInt32BE(0));
        if (h.kind === 'write') {
          const data = Buffer.concat(h.chunks);
          this.files.set(h.path, { data, mtime: Math.floor(Date.now() / 1000) });
        }
        sftp.status(reqid, STATUS_CODE.OK);
      })
      .on('OPENDIR', (reqid, path) => {
        const p = norm(path);
        if (!isDir(p)) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
        const prefix = p === '/' ? '/' : `${p}/`;
        const entries = [...this.files.keys()].filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/')).map((k) => k.slice(prefix.length));
        sftp.handle(reqid, open({ kind: 'dir', entries, done: false }));
      })
      .on('READDIR', (reqid, handle) => {
        const h = handleOf(handle);
        if (h === undefined || h.kind !== 'dir') return sftp.status(reqid, STATUS_CODE.FAILURE);
        if (h.done || h.entries.length === 0) return sftp.status(reqid, STATUS_CODE.EOF);
        h.done = true;
        sftp.name(
          reqid,
          h.entries.map((name) => ({ filename: name, longname: `-rw-r--r-- 1 pbs pbs 0 Jan 1 00:00 ${name}`, attrs: { mode: 0o100644, uid: 0, gid: 0, size: 0, atime: 0, mtime: 0 } })),
        );
      })
      .on('RENAME', (reqid, oldPath, newPath) => {
        const from = norm(oldPath);
        const to = norm(newPath);
        const f = this.files.get(from);
        if (f === undefined) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
        if (this.files.has(to)) return sftp.status(reqid, STATUS_CODE.FAILURE, `${to} exists`);
        this.files.delete(from);
        this.files.set(to, f);
        sftp.status(reqid, STATUS_CODE.OK);
        // A delivery is complete when the client renames it to its final name (upload to a temporary name first).
        if (to.startsWith('/in/') && !to.endsWith('.part')) this.onUpload(to, f.data);
      })
      .on('REMOVE', (reqid, path) => {
        const p = norm(path);
        if (!this.files.delete(p)) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
        sftp.status(reqid, STATUS_CODE.OK);
      })
      .on('MKDIR', (reqid) => sftp.status(reqid, STATUS_CODE.OK));
  }
}
