// Automatic failover on EC2: etcd's third member, a small instance in a third zone. It holds
// no database and no data volume (etcd's few keys are on its root disk), and has no IAM role.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings, AwsWitnessSettings } from "../../config";
import { Host, SshProxy } from "../../host";
import { IMDS_V2_ONLY, Tags, rootDisk } from "./common";
import { cloudConfig } from "./firstBoot";
import { bootstrapHostKey, firstContact } from "./firstContact";
import { Placement } from "./network";

export function witnessHost(
  name: string,
  stack: string,
  s: AwsSettings,
  w: AwsWitnessSettings,
  placement: pulumi.Output<Placement>,
  ami: pulumi.Output<string>,
  securityGroupId: pulumi.Output<string>,
  proxy: SshProxy | undefined,
  tags: Tags,
  parent: pulumi.CustomResourceOptions,
): Host {
  const subnetId = placement.apply((p) => {
    if (!p.witness) throw new Error("internal: the witness has no subnet");
    return p.witness.subnetId;
  });
  const { keys, publicKey } = bootstrapHostKey(name, stack, "witness", [subnetId], parent);
  const instance = new aws.ec2.Instance(
    `${name}-witness`,
    {
      ami,
      instanceType: w.instanceType,
      subnetId,
      vpcSecurityGroupIds: [securityGroupId],
      associatePublicIpAddress: false,
      metadataOptions: IMDS_V2_ONLY,
      rootBlockDevice: rootDisk(s, tags("witness-root")),
      // First boot as a master's, less the data volume and Greenplum (user-data.sh).
      userData: pulumi.secret(
        keys.apply((k) =>
          cloudConfig(k, {
            GPM_OS_USER: s.osUser,
            GPM_OS_UID: String(s.osUid),
            GPM_AUTHORIZED_KEY: s.connection.publicKey,
            GPM_DATA_DIR: s.dataDir,
            GPM_DATA_VOLUME_ID: "",
            GPM_GP_PREINSTALLED: "true",
            GPM_GP_PACKAGE_URL: "",
            GPM_GP_PACKAGE_SHA256: "",
            GPM_AUTO_PACKAGES: "true",
          }),
        ),
      ),
      tags: tags("witness"),
    },
    // As for the masters: a newer AMI or edited user data does not rebuild it.
    { ...parent, ignoreChanges: ["ami", "userData"] },
  );
  const base = {
    role: "witness" as const,
    name: pulumi.output(`witness_${stack.replace(/-/g, "_")}`),
    address: instance.privateIp,
    sshPort: pulumi.output(22),
    user: pulumi.output(s.osUser),
    privateKey: s.connection.privateKey,
    // No database; etcd's directory is beside this one (automatic.ts autoDir).
    dbPort: 0,
    dataDir: pulumi.output(s.dataDir),
    proxy,
    connectSeconds: 600,
    hostKeyFix: `the witness's key is learned at first contact; if its instance was rebuilt outside Pulumi, pulumi up --replace its ${name}-witness-host-key and first-contact resources`,
  };
  const { step, hostKey } = firstContact(name, base, publicKey, instance, [instance], parent);
  return { ...base, hostKey, instance: instance.id, ready: [instance, step] };
}
