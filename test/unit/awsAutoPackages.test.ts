// etcd, etcdctl and jq at first boot (scripts/aws/auto-packages.sh), run for real by bash in a
// sandbox: a PATH of its own standing for the AMI, with package managers that record what
// they are asked and "install" what their repositories have. What it cannot install is
// reported by first contact (scripts/aws/first-contact.sh) with the setting to change.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SCRIPTS = path.join(__dirname, "..", "..", "scripts", "aws");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "gpm-autopkg-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** An AMI: the commands it has, and a package manager whose repositories hold `repo`. */
function ami(name: string, has: string[], pm?: { name: string; repo: Record<string, string[]> }) {
  const dir = path.join(root, name);
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin, { recursive: true });
  for (const tool of ["awk", "head", "mkdir", "rm", "uname", "cat", "sleep"]) {
    const real = spawnSync("bash", ["-c", `command -v ${tool}`], {
      encoding: "utf8",
    }).stdout.trim();
    fs.symlinkSync(real, path.join(bin, tool));
  }
  const fake = (cmd: string) =>
    fs.writeFileSync(path.join(bin, cmd), `#!/bin/bash\necho "${cmd} 3.5.99"\n`, { mode: 0o755 });
  has.forEach(fake);
  if (pm) {
    // Installs every command of the packages asked for, or fails (as apt-get and dnf do) when
    // one of them is not in its repositories.
    const cases = Object.entries(pm.repo)
      .map(([pkg, cmds]) => `    ${pkg}) cmds+=" ${cmds.join(" ")}" ;;`)
      .join("\n");
    fs.writeFileSync(
      path.join(bin, pm.name),
      `#!/bin/bash
echo "$*" >>"${dir}/asked"
[ "$1" = install ] || exit 0
cmds=""
for p in "\${@:3}"; do
  case "$p" in
${cases}
    *) echo "No match for argument: $p" >&2; exit 1 ;;
  esac
done
for c in $cmds; do printf '#!/bin/bash\\necho "%s 3.5.99"\\n' "$c" >"${bin}/$c"; chmod 755 "${bin}/$c"; done
`,
      { mode: 0o755 },
    );
  }
  const run = (script: string, env: Record<string, string> = {}) =>
    spawnSync("/bin/bash", [path.join(SCRIPTS, script)], {
      env: { PATH: bin, GPM_BOOT_DIR: path.join(dir, "boot"), ...env },
      encoding: "utf8",
    });
  const asked = () =>
    fs.existsSync(`${dir}/asked`) ? fs.readFileSync(`${dir}/asked`, "utf8").trim().split("\n") : [];
  return { dir, run, asked };
}

describe("auto-packages.sh", () => {
  it("installs nothing on an AMI that has etcd, etcdctl and jq", () => {
    const a = ami("baked", ["etcd", "etcdctl", "jq"], { name: "apt-get", repo: {} });
    const r = a.run("auto-packages.sh");
    expect(r.status).toBe(0);
    expect(a.asked()).toEqual([]);
    expect(fs.existsSync(`${a.dir}/boot/user-data.error`)).toBe(false);
  });

  it("installs etcd-server, etcd-client and jq on Debian or Ubuntu, and again changes nothing", () => {
    const a = ami("ubuntu", [], {
      name: "apt-get",
      repo: { "etcd-server": ["etcd"], "etcd-client": ["etcdctl"], jq: ["jq"] },
    });
    expect(a.run("auto-packages.sh").status).toBe(0);
    expect(a.asked()).toEqual(["update -q", "install -y etcd-server etcd-client jq"]);
    expect(a.run("auto-packages.sh").status).toBe(0);
    expect(a.asked()).toHaveLength(2);
  });

  it("on an AMI whose repositories lack etcd, fails with what is missing and the fix, which first contact reports", () => {
    const a = ami("rocky", [], { name: "dnf", repo: { jq: ["jq"] } });
    const r = a.run("auto-packages.sh");
    expect(r.status).toBe(1);
    expect(a.asked()).toEqual(["install -y jq", "install -y etcd"]);
    const error = fs.readFileSync(`${a.dir}/boot/user-data.error`, "utf8");
    expect(error).toMatch(/lacks etcd etcdctl and its package manager could not install them/);
    expect(error).toMatch(/Fix: set aws\.ami\.id \(or aws\.ami\.owner and aws\.ami\.nameFilter\)/);
    const contact = a.run("first-contact.sh", { GPM_TIMEOUT_SECONDS: "30" });
    expect(contact.status).toBe(1);
    expect(contact.stderr).toBe(`first boot failed: ${error}`);
  });
});
