// The host key rotation at first contact (scripts/aws/rotate-host-key.sh), run for real by
// bash with ssh-keygen, against a directory standing for /etc/ssh: the bootstrap key that
// came in user data is replaced once by a key made on the host, and later runs only report it.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SCRIPT = path.join(__dirname, "..", "..", "scripts", "aws", "rotate-host-key.sh");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "gpm-hostkey-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const sshDir = path.join(root, "ssh");
const key = path.join(sshDir, "ssh_host_ed25519_key");
const env = { ...process.env, GPM_SSH_DIR: sshDir, GPM_STATE_DIR: path.join(root, "state") };
const rotate = () => {
  const r = spawnSync("bash", [SCRIPT], { env, encoding: "utf8" });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.trim()) as { hostKey: string };
};
const pub = () => fs.readFileSync(`${key}.pub`, "utf8").split(" ").slice(0, 2).join(" ");

describe("rotate-host-key.sh", () => {
  fs.mkdirSync(sshDir);
  spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bootstrap", "-f", key]);
  const bootstrapPrivate = fs.readFileSync(key, "utf8");
  const bootstrap = pub();

  it("replaces the bootstrap key with a new one and prints its public half", () => {
    const { hostKey } = rotate();
    expect(hostKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+$/);
    expect(hostKey).not.toBe(bootstrap);
    expect(hostKey).toBe(pub());
    expect(fs.readFileSync(key, "utf8")).not.toBe(bootstrapPrivate);
    expect(fs.statSync(key).mode & 0o777).toBe(0o600);
    // The key pair matches: ssh-keygen derives the printed public key from the private one.
    const derived = spawnSync("ssh-keygen", ["-y", "-f", key], { encoding: "utf8" });
    expect(derived.stdout.trim().split(" ").slice(0, 2).join(" ")).toBe(hostKey);
    expect(fs.readdirSync(sshDir).sort()).toEqual([
      "ssh_host_ed25519_key",
      "ssh_host_ed25519_key.pub",
    ]);
  });

  it("changes nothing on a later run", () => {
    const first = pub();
    expect(rotate().hostKey).toBe(first);
    expect(pub()).toBe(first);
  });
});
