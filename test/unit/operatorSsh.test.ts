// How the operator tools (status, drill) reach a host: the stack's key, the pinned host keys,
// and on AWS with a bastion (aws.connection.proxy) through it with its own key and pinned key.
// ssh itself is a fake that records its arguments and what the files hold.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SshSession } from "../../components/operator/ssh";

const bin = fs.mkdtempSync(path.join(os.tmpdir(), "gpm-fakessh-"));
const seen = path.join(bin, "seen");
fs.writeFileSync(
  path.join(bin, "ssh"),
  `#!/bin/bash
printf '%s\\n' "$@" >"${seen}.args"
key="$2"
known="\${4#UserKnownHostsFile=}"
{ cat "$known"; stat -c '%a' "$key" "$(dirname "$key")/proxy-key" 2>/dev/null; cat "$(dirname "$key")/proxy-key" 2>/dev/null; } >"${seen}.files"
cat >/dev/null
echo '{"ok":true}'
`,
  { mode: 0o755 },
);
const fakeSsh = path.join(bin, "ssh");
afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

const master = {
  name: "mdw",
  address: "127.0.0.9",
  sshPort: 22,
  user: "gpadmin",
  hostKey: "ssh-ed25519 AAAAmaster",
};
const bastion = {
  address: "127.0.0.10",
  sshPort: 2222,
  user: "jump",
  hostKey: "ssh-ed25519 AAAAbastion",
  privateKey: "BASTION KEY",
};

describe("SshSession", () => {
  it("reaches a host directly with the stack's key and its pinned host key", () => {
    const ssh = new SshSession("STACK KEY", [master], fakeSsh);
    expect(ssh.run(master, "true")).toBe('{"ok":true}\n');
    const args = fs.readFileSync(`${seen}.args`, "utf8").trim().split("\n");
    expect(args.join(" ")).not.toContain("ProxyCommand");
    expect(args.slice(-3)).toEqual(["22", "gpadmin@127.0.0.9", "bash -s"]);
    expect(fs.readFileSync(`${seen}.files`, "utf8")).toBe(
      "127.0.0.9 ssh-ed25519 AAAAmaster\n600\n",
    );
    ssh.close();
  });

  it("goes through the bastion with the bastion's own key, both host keys pinned", () => {
    const host = { ...master, proxy: bastion };
    const ssh = new SshSession("STACK KEY", [host], fakeSsh);
    ssh.run(host, "true");
    const args = fs.readFileSync(`${seen}.args`, "utf8").trim().split("\n");
    const dir = path.dirname(args[1]);
    const proxy = args.find((a) => a.startsWith("ProxyCommand="));
    expect(proxy).toBe(
      `ProxyCommand=ssh '-i' '${dir}/proxy-key' '-o' 'UserKnownHostsFile=${dir}/known_hosts' '-o' 'StrictHostKeyChecking=yes' '-o' 'BatchMode=yes' '-o' 'ConnectTimeout=5' '-W' '%h:%p' '-p' '2222' 'jump@127.0.0.10'`,
    );
    expect(args.slice(-3)).toEqual(["22", "gpadmin@127.0.0.9", "bash -s"]);
    expect(fs.readFileSync(`${seen}.files`, "utf8")).toBe(
      "127.0.0.9 ssh-ed25519 AAAAmaster\n[127.0.0.10]:2222 ssh-ed25519 AAAAbastion\n600\n600\nBASTION KEY\n",
    );
    ssh.close();
    expect(fs.existsSync(dir)).toBe(false);
  });
});
