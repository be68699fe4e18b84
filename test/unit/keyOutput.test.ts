// A key-making command's output is quoted whole in the error of a failed command by Pulumi's
// command provider, whatever its `logging` says: the local stack's client key must never be in
// that output, when the command works and when it fails.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PEM_HEADER } from "../fixtures/keys";

const SCRIPT = path.resolve(__dirname, "..", "..", "scripts", "local-hosts.sh");

function clientKey(stateDir: string, extraEnv: Record<string, string> = {}) {
  return spawnSync("/bin/bash", [SCRIPT, "client-key"], {
    env: { ...process.env, GPM_STACK: "keytest", GPM_STATE_DIR: stateDir, ...extraEnv },
    encoding: "utf8",
  });
}

describe("the local stack's client key", () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-key-"));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("is made once and kept in its file; the command prints only its public half and path", () => {
    const first = clientKey(`${tmp}/state`);
    expect(first.status).toBe(0);
    const out = JSON.parse(first.stdout) as Record<string, string>;
    expect(Object.keys(out).sort()).toEqual(["path", "publicKey"]);
    const privateKey = fs.readFileSync(out["path"] as string, "utf8");
    expect(privateKey.startsWith(PEM_HEADER)).toBe(true);
    expect((fs.statSync(out["path"] as string).mode & 0o077).toString(8)).toBe("0");
    const again = clientKey(`${tmp}/state`);
    expect(JSON.parse(again.stdout)).toEqual(out);
    for (const r of [first, again]) {
      expect(r.stdout + r.stderr).not.toContain("PRIVATE KEY");
      expect(r.stdout + r.stderr).not.toContain(privateKey.split("\n")[1]);
    }
  });

  it("prints no part of the key when it fails after the key exists", () => {
    const made = clientKey(`${tmp}/state`);
    const privateKey = fs.readFileSync(JSON.parse(made.stdout)["path"], "utf8");
    // The public half is gone and nothing can be made again: no tool is to be found.
    fs.rmSync(`${tmp}/state/client_key.pub`);
    const failed = clientKey(`${tmp}/state`, { PATH: "/nonexistent" });
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toMatch(/ssh-keygen is required|jq is required|command not found/);
    const body = privateKey.split("\n").slice(1, -2);
    for (const line of body) expect(failed.stdout + failed.stderr).not.toContain(line);
  });
});
