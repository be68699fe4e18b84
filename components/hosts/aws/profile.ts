// The instances' IAM role and instance profile.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings } from "../../config";
import { Tags } from "./common";

const SSM_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

/** A role that SSM can manage the hosts with, and that may read the Greenplum package. */
export function instanceProfile(
  name: string,
  s: AwsSettings,
  tags: Tags,
  parent: pulumi.CustomResourceOptions,
): { profile: aws.iam.InstanceProfile; role: aws.iam.Role } {
  const role = serviceRole(`${name}-role`, "ec2.amazonaws.com", tags("role"), parent);
  new aws.iam.RolePolicyAttachment(
    `${name}-ssm`,
    { role: role.name, policyArn: SSM_POLICY },
    parent,
  );
  const url = s.greenplum.packageUrl;
  if (!s.greenplum.preinstalled && url.startsWith("s3://")) {
    new aws.iam.RolePolicy(
      `${name}-package`,
      {
        role: role.id,
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${url.slice(5)}` },
          ],
        }),
      },
      parent,
    );
  }
  const profile = new aws.iam.InstanceProfile(
    `${name}-profile`,
    { role: role.name, tags: tags("profile") },
    parent,
  );
  return { profile, role };
}

/**
 * Automatic failover: the agent that promotes points the record clients use at its own host.
 * The role may change that one name, type A, by UPSERT, in that one zone, and nothing else.
 * Route53 compares the names normalized: lowercase, without the final dot.
 */
export function clientRecordPolicy(
  name: string,
  role: aws.iam.Role,
  zoneId: pulumi.Input<string>,
  recordName: string,
  parent: pulumi.CustomResourceOptions,
): aws.iam.RolePolicy {
  return new aws.iam.RolePolicy(
    `${name}-client-record`,
    {
      role: role.id,
      policy: pulumi.output(zoneId).apply((zone) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: "route53:ChangeResourceRecordSets",
              Resource: `arn:aws:route53:::hostedzone/${zone}`,
              Condition: {
                "ForAllValues:StringEquals": {
                  "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                    recordName.toLowerCase().replace(/\.$/, ""),
                  ],
                  "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
                  "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
                },
              },
            },
          ],
        }),
      ),
    },
    parent,
  );
}

/** A role that one AWS service may assume, and nothing else. */
export function serviceRole(
  name: string,
  service: string,
  tags: Record<string, string>,
  parent: pulumi.CustomResourceOptions,
): aws.iam.Role {
  return new aws.iam.Role(
    name,
    {
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
      }),
      tags,
    },
    parent,
  );
}
