// The primary step's guard (issue: a lost data volume must not become a new, empty system):
// scripts/remote/postgres/primary.sh run for real by bash, as an unprivileged user, against
// the PostgreSQL installed here. With the identifier the pair had, an empty data directory
// is refused before initdb, and another system's directory before it is started.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { remoteScript } from "../../components/engines/scriptText";

const USER = "postgres";
const PG_BIN = fs.existsSync("/usr/lib/postgresql")
  ? path.join(
      "/usr/lib/postgresql",
      fs.readdirSync("/usr/lib/postgresql").sort().pop() ?? "",
      "bin",
    )
  : "";
const canRun = process.getuid?.() === 0 && PG_BIN !== "" && spawnSync("id", [USER]).status === 0;
const maybe = canRun ? describe : describe.skip;
if (!canRun) {
  // Visible, not a silent pass: the guard is then only checked by the mock tests.
  console.warn(`SKIPPED awsSystemIdentifier: needs root, a '${USER}' user and PostgreSQL here`);
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function hostDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "gpm-sysid-"));
  fs.chmodSync(d, 0o755);
  spawnSync("chown", [USER, d]);
  dirs.push(d);
  return d;
}

function primaryStep(dataDir: string, expected: string) {
  const env = [
    `export GPM_DATA_DIR='${dataDir}'`,
    "export GPM_DB_PORT='55432'",
    "export GPM_LISTEN_ADDRESS='127.0.0.1'",
    `export GPM_PG_BIN='${PG_BIN}'`,
    `export GPM_EXPECTED_SYSTEM_ID='${expected}'`,
  ].join("\n");
  const r = spawnSync("runuser", ["-u", USER, "--", "bash", "-s"], {
    input: `set -euo pipefail\n${env}\n${remoteScript("postgres", "primary")}`,
    encoding: "utf8",
    cwd: "/",
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

maybe("primary step with the pair's system identifier (real bash and PostgreSQL)", () => {
  it("refuses to initialize a missing data directory, and creates nothing", () => {
    const dataDir = path.join(hostDir(), "gpseg-1");
    const r = primaryStep(dataDir, "7712486893244621282");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      /is empty, but this pair had database system 7712486893244621282: refusing to initialize.*set aws\.allowNewDatabaseSystem to true/,
    );
    expect(fs.existsSync(path.join(dataDir, "PG_VERSION"))).toBe(false);
    expect(r.stdout).toBe("");
  });

  it("refuses an empty data directory (a fresh volume mounted in its place)", () => {
    const dataDir = path.join(hostDir(), "gpseg-1");
    fs.mkdirSync(dataDir);
    spawnSync("chown", [USER, dataDir]);
    const r = primaryStep(dataDir, "7712486893244621282");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("refusing to initialize a new, empty one");
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it("refuses another system's data directory before starting it", () => {
    const dataDir = path.join(hostDir(), "gpseg-1");
    const init = spawnSync(
      "runuser",
      ["-u", USER, "--", path.join(PG_BIN, "initdb"), "-D", dataDir, "--no-sync", "-A", "trust"],
      { encoding: "utf8", cwd: "/" },
    );
    expect(init.status).toBe(0);
    const r = primaryStep(dataDir, "1");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      /holds database system '\d{10,}', not this pair's 1: another system's/,
    );
    expect(fs.existsSync(path.join(dataDir, "postmaster.pid"))).toBe(false);
  });
});
