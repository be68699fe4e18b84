// The drill's write workload: one row per transaction, and a record of every commit the
// client saw acknowledged. When the primary goes away it looks for whichever host accepts
// writes now, so the first write accepted there marks the end of the outage (RTO).
import { Client } from "pg";

export interface Endpoint {
  name: string;
  host: string;
  port: number;
}

export interface Ack {
  id: number;
  host: string;
  /** ms since the writer started */
  at: number;
}

export interface WriterLogin {
  user: string;
  password: string;
  database: string;
}

const CONNECT_TIMEOUT_MS = 2000;
const QUERY_TIMEOUT_MS = 3000;

export class Writer {
  readonly acks: Ack[] = [];
  readonly errors: { at: number; host: string; message: string }[] = [];
  private stopped = false;
  /** When the writer was made (ms since the epoch): `now()` and every `at` count from it. */
  readonly started = Date.now();
  private loop?: Promise<void>;

  constructor(
    private readonly endpoints: Endpoint[],
    private readonly login: WriterLogin,
    private readonly run: string,
  ) {}

  now(): number {
    return Date.now() - this.started;
  }

  /** Creates the drill table on the current primary. */
  async prepare(): Promise<Endpoint> {
    const { client, endpoint } = await this.connectToPrimary();
    try {
      await client.query(
        "CREATE TABLE IF NOT EXISTS drill_acks (run text, id bigint, at timestamptz DEFAULT now(), PRIMARY KEY (run, id))",
      );
    } finally {
      await client.end();
    }
    return endpoint;
  }

  start(): void {
    this.loop = this.writeLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** The ids of this run that the host holds. */
  async idsOn(endpoint: Endpoint): Promise<Set<number>> {
    const client = this.client(endpoint);
    await client.connect();
    try {
      const r = await client.query<{ id: string }>("SELECT id FROM drill_acks WHERE run = $1", [
        this.run,
      ]);
      return new Set(r.rows.map((row) => Number(row.id)));
    } finally {
      await client.end();
    }
  }

  private client(e: Endpoint): Client {
    return new Client({
      host: e.host,
      port: e.port,
      ...this.login,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
    });
  }

  /** The first host that accepts a connection and is not in recovery. */
  async connectToPrimary(): Promise<{ client: Client; endpoint: Endpoint }> {
    for (const endpoint of this.endpoints) {
      const client = this.client(endpoint);
      client.on("error", () => undefined);
      try {
        await client.connect();
        const r = await client.query<{ rec: boolean }>("SELECT pg_is_in_recovery() AS rec");
        if (!r.rows[0].rec) return { client, endpoint };
        await client.end();
      } catch {
        await client.end().catch(() => undefined);
      }
    }
    throw new Error("no host accepts writes");
  }

  private async writeLoop(): Promise<void> {
    let next = 1;
    while (!this.stopped) {
      let conn: { client: Client; endpoint: Endpoint };
      try {
        conn = await this.connectToPrimary();
      } catch (e) {
        this.errors.push({ at: this.now(), host: "-", message: (e as Error).message });
        await sleep(200);
        continue;
      }
      try {
        while (!this.stopped) {
          const id = next;
          await conn.client.query("INSERT INTO drill_acks (run, id) VALUES ($1, $2)", [
            this.run,
            id,
          ]);
          // Acknowledged: the client saw the commit succeed.
          this.acks.push({ id, host: conn.endpoint.name, at: this.now() });
          next++;
        }
      } catch (e) {
        // An insert whose outcome is unknown is never counted as acknowledged; its id is
        // not reused, so a row that did commit is not confused with a later one.
        next++;
        this.errors.push({
          at: this.now(),
          host: conn.endpoint.name,
          message: (e as Error).message,
        });
      } finally {
        await conn.client.end().catch(() => undefined);
      }
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
