// First boot: the cloud-config user data of a master.
import { exportLines } from "../../shell";
import { script } from "./common";

/**
 * User data as cloud-config (JSON is YAML): cloud-init installs the pinned host key before
 * sshd first starts, then runs scripts/aws/user-data.sh with its parameters as quoted
 * `export` lines. It holds the host's private key, so it stays a secret.
 */
export function cloudConfig(
  hostKey: { privateKey: string; publicKey: string },
  params: Record<string, string>,
): string {
  const [shebang, ...body] = script("user-data.sh").split("\n");
  const text = `${shebang}\n${exportLines(params)}${body.join("\n")}`;
  return `#cloud-config\n${JSON.stringify({
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: { ed25519_private: hostKey.privateKey, ed25519_public: hostKey.publicKey },
    write_files: [
      {
        path: "/var/lib/gpmirror/user-data.sh",
        permissions: "0700",
        owner: "root:root",
        content: text,
      },
    ],
    runcmd: [["bash", "/var/lib/gpmirror/user-data.sh"]],
  })}\n`;
}
