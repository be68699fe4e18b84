// Which Pulumi gpmirror runs: a user's own (PATH or ~/.pulumi/bin) as it is, else the
// project's copy under .pulumi-home with Pulumi's official plugins, offline.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

/** What scripts/pulumi-env.sh sets, sourced in a clean environment with this HOME and PATH. */
function envWith(home: string, pathDirs: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(
    "/bin/bash",
    [
      "-c",
      'source "$1/scripts/pulumi-env.sh" && printf "%s\\n" "$GPMIRROR_PULUMI" "$GPMIRROR_PULUMI_CLI" "${PULUMI_HOME:-}" "${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-}"',
      "env",
      ROOT,
    ],
    {
      env: { HOME: home, PATH: [...pathDirs, "/usr/bin", "/bin"].join(":"), ...extra },
      encoding: "utf8",
    },
  );
  const [mode, cli, pulumiHome, noDownloads] = r.stdout.split("\n");
  return { mode, cli, pulumiHome, noDownloads, status: r.status, stderr: r.stderr };
}

describe("scripts/pulumi-env.sh", () => {
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-home-"));
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  const fakePulumi = (dir: string) => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "pulumi"), "#!/bin/sh\necho v3.999.0\n", { mode: 0o755 });
    return path.join(dir, "pulumi");
  };

  it("uses Pulumi from ~/.pulumi/bin as it is: its own PULUMI_HOME and plugin downloads", () => {
    const cli = fakePulumi(path.join(home, ".pulumi", "bin"));
    const e = envWith(home, []);
    expect(e).toMatchObject({ mode: "user", cli, pulumiHome: "", noDownloads: "" });
  });

  it("uses a pulumi on PATH", () => {
    const cli = fakePulumi(path.join(home, "opt", "bin"));
    expect(envWith(home, [path.dirname(cli)])).toMatchObject({ mode: "user", cli });
  });

  it("without one, uses the project's copy, offline", () => {
    const e = envWith(home, []);
    expect(e).toMatchObject({
      mode: "project",
      cli: path.join(ROOT, ".pulumi-home", "bin", "pulumi"),
      pulumiHome: path.join(ROOT, ".pulumi-home"),
      noDownloads: "true",
    });
  });

  it("does not take the project's own copy on PATH for a user's Pulumi", () => {
    const e = envWith(home, [path.join(ROOT, ".pulumi-home", "bin")]);
    expect(e.mode).toBe("project");
  });

  it("GPMIRROR_PULUMI forces the choice, and says what is wrong with a bad one", () => {
    fakePulumi(path.join(home, ".pulumi", "bin"));
    expect(envWith(home, [], { GPMIRROR_PULUMI: "project" }).mode).toBe("project");
    const bad = envWith(home, [], { GPMIRROR_PULUMI: "cloud" });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/GPMIRROR_PULUMI must be user or project, got 'cloud'/);
  });

  it("install-pulumi.sh builds nothing when the user has Pulumi", () => {
    fakePulumi(path.join(home, ".pulumi", "bin"));
    const started = Date.now();
    const r = spawnSync("/bin/bash", [path.join(ROOT, "scripts", "install-pulumi.sh")], {
      env: { HOME: home, PATH: `${path.join(ROOT, "node_modules", ".bin")}:/usr/bin:/bin` },
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/using your Pulumi: .*\/\.pulumi\/bin\/pulumi \(v3\.999\.0\)/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("install-pulumi.sh without Pulumi and without the official plugins says how to get them", () => {
    const r = spawnSync("/bin/bash", [path.join(ROOT, "scripts", "install-pulumi.sh")], {
      env: {
        HOME: home,
        PATH: `${path.join(ROOT, "node_modules", ".bin")}:/usr/local/go/bin:/usr/bin:/bin`,
        GPMIRROR_PULUMI_PLUGINS: path.join(home, "no-such-archive"),
        PULUMI_HOME: path.join(home, "pulumi-home"),
      },
      encoding: "utf8",
    });
    // Before anything is built.
    expect(r.stderr).toMatch(
      /Pulumi's official language host and command provider are needed .* set GPMIRROR_PULUMI_PLUGINS/,
    );
    expect(r.status).not.toBe(0);
  });
});
