// The local Greenplum stack on the real engine and a real Greenplum 7.0.0: gpinitsystem through
// the primary step, gpinitstandby through the standby step, on three hosts of its own
// (coordinator, standby, a segment host with two segments; subnet 10.203.1.0/24).
import { shellQuote } from "../../components/shell";
import { describeGreenplum, GreenplumHost, GreenplumStack } from "../support/greenplumStack";

jest.setTimeout(20 * 60 * 1000);

describeGreenplum("local Greenplum stack on the real engine", () => {
  const gp = new GreenplumStack("gpstack", "10.203.1");
  let upSeconds = 0;

  beforeAll(async () => {
    await gp.create();
    const started = Date.now();
    const up = await gp.up();
    upSeconds = (Date.now() - started) / 1000;
    if (up.summary.result !== "succeeded") throw new Error(gp.log.join(""));
  });

  afterAll(async () => {
    await gp.destroy();
  });

  it("initializes a system: coordinator, standby and two segments in the catalog", () => {
    console.log(`pulumi up of the Greenplum stack took ${upSeconds.toFixed(1)} s`);
    const rows = gp
      .coordinator(
        "SELECT content, role, status, hostname, address, port FROM gp_segment_configuration ORDER BY content, role DESC",
      )
      .split("\n");
    expect(rows).toEqual([
      `-1|p|u|${gp.address("primary")}|${gp.address("primary")}|5432`,
      `-1|m|u|${gp.address("standby")}|${gp.address("standby")}|5432`,
      `0|p|u|${gp.hostName("seg1")}|${gp.hostName("seg1")}|6000`,
      `1|p|u|${gp.hostName("seg1")}|${gp.hostName("seg1")}|6001`,
    ]);
    expect(gp.standbyState()).toEqual({ inRecovery: true, running: true });
  });

  it("streams the coordinator's WAL to the standby synchronously", () => {
    expect(gp.outputs["replication"].value).toMatchObject({
      state: "streaming",
      syncState: "sync",
    });
    expect(
      gp.coordinator(
        "SELECT application_name, client_addr, state, sync_state FROM pg_stat_replication",
      ),
    ).toBe(`gp_walreceiver|${gp.address("standby")}|streaming|sync`);
    expect(
      gp.coordinator("SELECT state, sync_state FROM gp_stat_replication WHERE gp_segment_id = -1"),
    ).toBe("streaming|sync");
  });

  it("is reported protected by the status command, read from the real servers", () => {
    const { code, report, stderr } = gp.status();
    expect({ code, stderr: stderr.slice(-1000) }).toMatchObject({ code: 0 });
    expect(report).toMatchObject({
      primary: gp.hostName("primary"),
      standby: gp.hostName("standby"),
      protected: true,
      state: "streaming",
      syncState: "sync",
      canCatchUp: true,
      problems: [],
    });
  });

  it("spreads rows written on the coordinator over both segments", () => {
    gp.coordinator(
      "CREATE TABLE spread (id int) DISTRIBUTED BY (id); INSERT INTO spread SELECT generate_series(1, 1000);",
    );
    const counts = gp.segments("SELECT count(*) FROM spread");
    expect([...counts.keys()]).toEqual([0, 1]);
    const perSegment = [...counts.values()].map(Number);
    expect(perSegment.every((n) => n > 0)).toBe(true);
    expect(perSegment.reduce((a, b) => a + b, 0)).toBe(1000);
  });

  it("gives each host its own /tmp, name and environment, and SSH and ping between all", () => {
    const hosts: GreenplumHost[] = ["primary", "standby", "seg1"];
    const sockets = (h: GreenplumHost) =>
      gp.shell(h, "ls -a /tmp | grep -E '^\\.s\\.PGSQL\\.[0-9]+$' | sort | tr '\\n' ' '").trim();
    expect(sockets("primary")).toBe(".s.PGSQL.5432");
    expect(sockets("standby")).toBe(".s.PGSQL.5432");
    expect(sockets("seg1")).toBe(".s.PGSQL.6000 .s.PGSQL.6001");
    for (const h of hosts) {
      // A non-login shell, as sshd runs a command and as Greenplum's utilities reach a host.
      expect(gp.shell(h, "hostname; command -v python3; command -v gpstate").split("\n")).toEqual([
        gp.hostName(h),
        "/usr/bin/python3",
        "/usr/local/greenplum-db/bin/gpstate",
      ]);
      const names = ["localhost", ...hosts.map((o) => gp.hostName(o))].join(" ");
      expect(
        gp.shell(
          h,
          `for n in ${names}; do ssh -o BatchMode=yes "$n" hostname; ping -c 1 -W 2 "$n" >/dev/null; done`,
        ),
      ).toBe([gp.hostName(h), ...hosts.map((o) => gp.hostName(o))].join("\n"));
    }
  });

  it("runs nothing on a second up with the same config", async () => {
    const again = await gp.up();
    expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
    expect(gp.coordinator("SELECT count(*) FROM spread")).toBe("1000");
  });

  it("destroy leaves no process, namespace, mount, bridge, shared memory or directory behind, even after a kill -9", async () => {
    const pids = gp.processes();
    expect(pids.length).toBeGreaterThan(10);
    // A crashed postmaster, as drills and fault tests leave one: its shared memory outlives it.
    const standbyDir = (gp.outputs["standby"].value as { dataDir: string }).dataDir;
    gp.shell("standby", `kill -9 "$(head -n 1 ${shellQuote(standbyDir)}/postmaster.pid)"`);
    const started = Date.now();
    await gp.stack.destroy({ onOutput: gp.onOutput });
    console.log(
      `pulumi destroy of the Greenplum stack took ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(gp.leftovers(pids)).toEqual([]);
  });
});
