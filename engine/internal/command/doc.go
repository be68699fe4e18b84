// Package command implements, from the public gRPC provider protocol, the
// resource plugin that the @pulumi/command 1.2.1 SDK drives:
// command:local:Command, command:remote:Command and the command:local:run
// function. The upstream Go module is not obtainable here.
//
// Files, one job each:
//   - server.go: the pulumirpc.ResourceProviderServer (wire format, timeouts, Cancel)
//   - spec.go, check.go, schema.go: the properties, their validation and defaults, the schema
//   - props.go: decoding inputs; which outputs are secret
//   - diff.go: what changed; triggers replace, anything else updates
//   - ops.go: create/update/delete semantics on top of a Runner
//   - output.go: capturing and streaming output, command errors
//   - mask.go: hiding literal secret text in logs and error messages
//   - local.go: running a command on this machine
//   - ssh.go, remote.go: SSH connections (host keys, retries, proxy) and remote runs
//
// Behaviour, as the SDK's documentation describes it:
//   - Create runs `create`. A change to `triggers` replaces the resource
//     (create the new one, then delete the old one). A change to any other
//     input is an update, which runs `update`, or `create` when there is no
//     update command; with neither, nothing runs and the old output is kept.
//     Equal inputs are no change, so a second `pulumi up` runs nothing.
//   - Delete runs `delete` with the environment recorded in the state.
//   - With addPreviousOutputInEnv (default true), update and delete get
//     PULUMI_COMMAND_STDOUT and PULUMI_COMMAND_STDERR from the state.
//   - stdout and stderr lose one trailing newline. They are secret when an
//     input that reaches the command (create, update, delete, stdin,
//     environment, dir, interpreter) is secret. The connection does not count:
//     the SDK always wraps it in a secret.
//   - Output lines go to the engine log as the command prints them, per
//     `logging`; a failed command's error quotes the last lines of stderr
//     (or stdout when stderr is empty), again only streams `logging` allows.
//     Literal text of secret inputs and of connection credentials is masked
//     as "[secret]" in both; `logging: "none"` is the guarantee.
//
// Remote specifics:
//   - Environment variables are sent with the SSH "env" request, never on the
//     command line. When the server refuses one of the user's variables the
//     command fails with an error naming it (sshd needs AcceptEnv);
//     PULUMI_COMMAND_STDOUT/STDERR are left out silently where refused.
//   - connection.hostKey pins the server key (authorized_keys or known_hosts
//     lines, one or more); a mismatch fails at once and is not retried.
//     Without hostKey any key is accepted, with one warning per host.
//   - Up to dialErrorLimit attempts (-1: unlimited), each limited to
//     perDialTimeout seconds, with progress in the log; connection.proxy is
//     a jump host reached first.
//   - On timeout or Cancel the remote process is sent SIGTERM and the
//     connection is dropped. OpenSSH only delivers signals to privilege-
//     separated sessions (not to logins as root); a process that ignores the
//     hang-up can outlive a cancelled command there.
package command
