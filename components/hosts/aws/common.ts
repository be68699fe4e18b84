// What the AWS hosts' parts share: the two roles, tags, and the scripts under scripts/aws.
import * as fs from "fs";
import * as path from "path";
import type { AwsSettings } from "../../config";
import { scriptPath } from "../../packageRoot";

export type Role = "primary" | "standby";
export const ROLES: readonly Role[] = ["primary", "standby"];

/** Tags for one resource: its name, the stack, the role when it belongs to one host. */
export type Tags = (what: string, role?: Role) => Record<string, string>;

const SCRIPTS = scriptPath("aws");

/** A script of scripts/aws, as text. */
export function script(file: string): string {
  return fs.readFileSync(path.join(SCRIPTS, file), "utf8");
}

/** IMDSv2 only, one hop: a process in a container on the host cannot take the role. */
export const IMDS_V2_ONLY = {
  httpEndpoint: "enabled",
  httpTokens: "required",
  httpPutResponseHopLimit: 1,
};

/** An encrypted root disk: it holds nothing that is not made again at first boot. */
export function rootDisk(s: AwsSettings, tags: Record<string, string>) {
  return {
    volumeType: "gp3",
    volumeSize: s.rootVolumeSizeGiB,
    encrypted: true,
    kmsKeyId: s.dataVolume.kmsKeyId,
    deleteOnTermination: true,
    tags,
  };
}
