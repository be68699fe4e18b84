// Reading values under Pulumi's mocks: inputs as the engine receives them wrap secrets in a
// signature object; outputs resolve through apply.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Whether an input value, as the engine received it, is a secret. */
export function isSecretValue(v: unknown): boolean {
  return typeof v === "object" && v !== null && SECRET_SIG in v;
}

/** The value with every secret wrapper removed, at any depth. */
export function plain(v: unknown): unknown {
  if (isSecretValue(v)) return plain((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/** An output's value, once known. */
export function value<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply(resolve));
}

/**
 * A file holding a private key, as `local-hosts.sh client-key` leaves one on the machine that
 * runs Pulumi (the program reads the key from there); removed when the test process ends.
 */
export function clientKeyFile(privateKey: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-unit-key-"));
  const file = path.join(dir, "client_key");
  fs.writeFileSync(file, privateKey, { mode: 0o600 });
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return file;
}
