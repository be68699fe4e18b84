// First boot: the cloud-config user data of a master.
import { exportLines } from "../../shell";
import { script } from "./common";

/**
 * User data as cloud-config (JSON is YAML): cloud-init installs the bootstrap host key
 * before sshd first starts, writes the script that replaces that key at first contact
 * (scripts/aws/rotate-host-key.sh), then runs scripts/aws/user-data.sh with its parameters
 * as quoted `export` lines. The bootstrap key is a secret until the host has replaced it,
 * so the user data stays one.
 */
export function cloudConfig(
  bootstrapKey: { privateKey: string; publicKey: string },
  params: Record<string, string>,
): string {
  const [shebang, ...body] = script("user-data.sh").split("\n");
  const text = `${shebang}\n${exportLines(params)}${body.join("\n")}`;
  return `#cloud-config\n${JSON.stringify({
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: {
      ed25519_private: bootstrapKey.privateKey,
      ed25519_public: bootstrapKey.publicKey,
    },
    write_files: [
      {
        path: "/var/lib/gpmirror/user-data.sh",
        permissions: "0700",
        owner: "root:root",
        content: text,
      },
      {
        path: "/usr/local/sbin/gpmirror-rotate-host-key",
        permissions: "0755",
        owner: "root:root",
        content: script("rotate-host-key.sh"),
      },
      // Automatic failover: etcd, etcdctl and jq (user-data.sh runs it).
      ...(params["GPM_AUTO_PACKAGES"] === "true"
        ? [
            {
              path: "/var/lib/gpmirror/auto-packages.sh",
              permissions: "0700",
              owner: "root:root",
              content: script("auto-packages.sh"),
            },
          ]
        : []),
    ],
    runcmd: [["bash", "/var/lib/gpmirror/user-data.sh"]],
  })}\n`;
}
