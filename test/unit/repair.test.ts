import { repairTargets } from "../../components/operator/repair";

const urn = (type: string, name: string) =>
  `urn:pulumi:s::gpmirror::gpmirror:index:MasterMirror$gpmirror:index:RemoteStep$${type}::${name}`;
const cmd = (name: string) => ({
  type: "command:remote:Command",
  urn: urn("command:remote:Command", name),
});

describe("npm run repair", () => {
  it("runs the access, standby and verify steps again, not prepare or trust", () => {
    const resources = [
      {
        type: "gpmirror:index:MasterMirror",
        urn: "urn:pulumi:s::gpmirror::gpmirror:index:MasterMirror::mirror",
      },
      cmd("mirror-prepare-standby"),
      cmd("mirror-trust-standby"),
      cmd("mirror-verify"),
      cmd("mirror-standby"),
      cmd("mirror-access"),
      cmd("mirror-primary"),
    ];
    expect(repairTargets(resources).map((u) => u.split("::").pop())).toEqual([
      "mirror-access",
      "mirror-standby",
      "mirror-verify",
    ]);
  });

  it("runs each step's host check again first", () => {
    const check = (step: string) => ({
      type: "command:local:Command",
      urn: urn("command:local:Command", `mirror-${step}-host-check`),
    });
    const resources = [
      {
        type: "gpmirror:index:MasterMirror",
        urn: "urn:pulumi:s::gpmirror::gpmirror:index:MasterMirror::mirror",
      },
      check("prepare-standby"),
      check("standby"),
      cmd("mirror-standby"),
      check("access"),
      cmd("mirror-access"),
      check("verify"),
      cmd("mirror-verify"),
    ];
    expect(repairTargets(resources).map((u) => u.split("::").pop())).toEqual([
      "mirror-standby-host-check",
      "mirror-access-host-check",
      "mirror-verify-host-check",
      "mirror-access",
      "mirror-standby",
      "mirror-verify",
    ]);
  });

  it("says what to do when the stack has no standby", () => {
    expect(() => repairTargets([])).toThrow(/run pulumi up first/);
    expect(() =>
      repairTargets([
        {
          type: "gpmirror:index:MasterMirror",
          urn: "urn:pulumi:s::gpmirror::gpmirror:index:MasterMirror::mirror",
        },
        cmd("mirror-access"),
      ]),
    ).toThrow(/no standby, verify step/);
  });
});
