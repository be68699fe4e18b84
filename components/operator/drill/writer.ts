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
/** How long none accepts writes before connectToPrimary gives up (the loop asks again). */
const PATIENCE_MS = 10_000;
/** Between two tries of one host while looking for the primary. */
const RETRY_MS = 200;
/** A write unanswered this long makes the writer look whether another host took over. */
const HEDGE_AFTER_MS = 300;

interface Connection {
  client: Client;
  endpoint: Endpoint;
}

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

  /**
   * The first host that accepts a connection and is not in recovery, asked of every host at
   * once (again every RETRY_MS) so that a host that drops packets, whose connect only ends
   * with its timeout, does not delay finding the one that answers; none within patienceMs: an
   * error.
   */
  connectToPrimary(patienceMs = PATIENCE_MS, among = this.endpoints): Promise<Connection> {
    if (among.length === 0) return Promise.reject(new Error("no host to write to"));
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + patienceMs;
      let done = false;
      let left = among.length;
      for (const endpoint of among) {
        void (async () => {
          while (!done && !this.stopped && Date.now() < deadline) {
            const c = await this.tryPrimary(endpoint);
            if (c && !done) {
              done = true;
              resolve(c);
              return;
            }
            if (c) {
              await c.client.end().catch(() => undefined);
              return;
            }
            await sleep(RETRY_MS);
          }
          if (--left === 0 && !done) reject(new Error("no host accepts writes"));
        })();
      }
    });
  }

  private async tryPrimary(endpoint: Endpoint): Promise<Connection | undefined> {
    const client = this.client(endpoint);
    client.on("error", () => undefined);
    try {
      await client.connect();
      const r = await client.query<{ rec: boolean }>("SELECT pg_is_in_recovery() AS rec");
      if (!r.rows[0].rec) return { client, endpoint };
    } catch {
      // not reachable, or not up: asked again
    }
    await client.end().catch(() => undefined);
    return undefined;
  }

  /**
   * Another host that accepts writes while a write on `current` has had no answer for
   * HEDGE_AFTER_MS (a master cut off from everything keeps it waiting until its timeout):
   * undefined once the write answered or the writer stops.
   */
  private async otherPrimary(
    current: Endpoint,
    answered: () => boolean,
  ): Promise<Connection | undefined> {
    await sleep(HEDGE_AFTER_MS);
    const others = this.endpoints.filter((e) => e !== current);
    while (!answered() && !this.stopped && others.length > 0) {
      const c = await this.connectToPrimary(RETRY_MS, others).catch(() => undefined);
      if (c && answered()) {
        await c.client.end().catch(() => undefined);
        return undefined;
      }
      if (c) return c;
    }
    return undefined;
  }

  private async writeLoop(): Promise<void> {
    let next = 1;
    let moved: Connection | undefined;
    while (!this.stopped) {
      let conn: Connection;
      try {
        conn = moved ?? (await this.connectToPrimary());
        moved = undefined;
      } catch (e) {
        this.errors.push({ at: this.now(), host: "-", message: (e as Error).message });
        continue;
      }
      try {
        while (!this.stopped) {
          const id = next;
          let answered = false;
          const insert = conn.client
            .query("INSERT INTO drill_acks (run, id) VALUES ($1, $2)", [this.run, id])
            .finally(() => (answered = true));
          const other = this.otherPrimary(conn.endpoint, () => answered);
          const first = await Promise.race([insert.then(() => undefined), other]);
          if (first) {
            // Another host took over while this write waited: its outcome is unknown, so it
            // is not counted; the writer goes on there.
            insert.catch(() => undefined);
            moved = first;
            throw new Error(`no answer; ${first.endpoint.name} accepts writes`);
          }
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
        // Not awaited when the writer moved on: a host cut off would hold it.
        const end = conn.client.end().catch(() => undefined);
        if (!moved) await end;
      }
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
