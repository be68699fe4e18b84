// A master's data disk: an EBS volume of its own, in its host's zone, attached to the
// instance, so that it outlives the instance and no instance change touches it.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings } from "../../config";
import { Role, Tags } from "./common";

/** The data volume's device name as EC2 sees it (Nitro shows it as an NVMe disk). */
export const DATA_DEVICE = "/dev/sdf";
/** Tag DLM selects the data volumes by (value: the stack). */
export const DATA_VOLUME_TAG = "gpmirror:data-volume";

/** What replaces a volume; ignored unless the host's allowReplace opts in. */
const REPLACING_VOLUME_INPUTS = ["availabilityZone", "encrypted", "kmsKeyId", "snapshotId"];

/**
 * The volume survives `pulumi destroy` and a replacement unless
 * aws.dataVolume.deleteOnDestroy opts in: retainOnDelete leaves it in AWS when Pulumi lets
 * go of it (protect would instead fail every destroy until someone edits the state). When
 * it is deleted, EC2 takes a final snapshot first.
 */
export function dataVolume(
  name: string,
  stack: string,
  role: Role,
  s: AwsSettings,
  zone: pulumi.Input<string>,
  tags: Tags,
  parent: pulumi.CustomResourceOptions,
): aws.ebs.Volume {
  return new aws.ebs.Volume(
    `${name}-${role}-data`,
    {
      availabilityZone: zone,
      type: "gp3",
      size: s.dataVolume.sizeGiB,
      iops: s.dataVolume.iops,
      throughput: s.dataVolume.throughputMiBps,
      encrypted: true,
      kmsKeyId: s.dataVolume.kmsKeyId,
      finalSnapshot: true,
      tags: { ...tags(`${role}-data`, role), [DATA_VOLUME_TAG]: stack },
    },
    {
      ...parent,
      retainOnDelete: !s.dataVolume.deleteOnDestroy,
      ignoreChanges: s.hosts[role].allowReplace ? [] : REPLACING_VOLUME_INPUTS,
    },
  );
}

/** Attaches the volume; a detach (destroy, replacement) stops the instance first. */
export function attachVolume(
  name: string,
  role: Role,
  volume: aws.ebs.Volume,
  instance: aws.ec2.Instance,
  parent: pulumi.CustomResourceOptions,
): aws.ec2.VolumeAttachment {
  return new aws.ec2.VolumeAttachment(
    `${name}-${role}-data-attachment`,
    {
      deviceName: DATA_DEVICE,
      volumeId: volume.id,
      instanceId: instance.id,
      // The file system is unmounted cleanly, never pulled from under a running database.
      stopInstanceBeforeDetaching: true,
    },
    parent,
  );
}
