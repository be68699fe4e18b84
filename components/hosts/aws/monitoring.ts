// Keeping the masters' machines up and their data copied: EC2 status-check alarms that
// recover or reboot an instance, and a DLM policy that snapshots the data volumes.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings } from "../../config";
import { Role, Tags } from "./common";
import { serviceRole } from "./profile";
import { DATA_VOLUME_TAG } from "./volume";

/**
 * A failed system check (the hardware under the instance) recovers it onto other hardware:
 * the same instance id, address and volumes. A failed instance check reboots it. Neither
 * starts the database: gpmirror's steps do that on the next `pulumi up`, so a recovered old
 * primary never serves beside a promoted standby on its own.
 */
export function statusAlarms(
  name: string,
  role: Role,
  instanceId: pulumi.Output<string>,
  tags: Tags,
  parent: pulumi.CustomResourceOptions,
): aws.cloudwatch.MetricAlarm[] {
  const region = aws.getRegionOutput({}, parent).region;
  const alarm = (check: "System" | "Instance", action: "recover" | "reboot") =>
    new aws.cloudwatch.MetricAlarm(
      `${name}-${role}-${action}`,
      {
        alarmDescription: `gpmirror: ${action} the ${role} master when its ${check.toLowerCase()} status check fails`,
        namespace: "AWS/EC2",
        metricName: `StatusCheckFailed_${check}`,
        dimensions: { InstanceId: instanceId },
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: check === "System" ? 2 : 3,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        alarmActions: [pulumi.interpolate`arn:aws:automate:${region}:ec2:${action}`],
        tags: tags(`${role}-${action}`, role),
      },
      parent,
    );
  return [alarm("System", "recover"), alarm("Instance", "reboot")];
}

const DLM_POLICY = "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole";

/** Snapshots of both data volumes (crash-consistent: the WAL is on the same volume). */
export function snapshotPolicy(
  name: string,
  stack: string,
  s: AwsSettings,
  tags: Tags,
  parent: pulumi.CustomResourceOptions,
): aws.dlm.LifecyclePolicy {
  const role = serviceRole(`${name}-dlm-role`, "dlm.amazonaws.com", tags("dlm-role"), parent);
  const attachment = new aws.iam.RolePolicyAttachment(
    `${name}-dlm`,
    { role: role.name, policyArn: DLM_POLICY },
    parent,
  );
  return new aws.dlm.LifecyclePolicy(
    `${name}-snapshots`,
    {
      description: `gpmirror ${stack}: data volumes`,
      executionRoleArn: role.arn,
      state: "ENABLED",
      policyDetails: {
        resourceTypes: ["VOLUME"],
        targetTags: { [DATA_VOLUME_TAG]: stack },
        schedules: [
          {
            name: `every ${s.snapshots.intervalHours} h, keep ${s.snapshots.retainCount}`,
            createRule: { interval: s.snapshots.intervalHours, intervalUnit: "HOURS" },
            retainRule: { count: s.snapshots.retainCount },
            copyTags: true,
          },
        ],
      },
      tags: tags("snapshots"),
    },
    { ...parent, dependsOn: [attachment] },
  );
}
