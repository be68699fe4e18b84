package command

// This file describes the properties of the two resources and of the
// command:local:run function, as the @pulumi/command 1.2.1 SDK sends them.
// The tables drive input validation (check.go), decoding (props.go), the
// diff (diff.go) and the schema returned by GetSchema (schema.go).

const (
	// PackageName is the Pulumi package this plugin serves.
	PackageName = "command"
	// Version is the plugin version the SDK asks for.
	Version = "1.2.1"

	LocalCommandType  = "command:local:Command"
	RemoteCommandType = "command:remote:Command"
	LocalRunFunction  = "command:local:run"
)

type kind int

const (
	kindString kind = iota
	kindBool
	kindInt
	kindStringMap  // map of strings
	kindStringList // list of strings
	kindAnyList    // list of anything (triggers)
	kindObject     // nested object described by fields
)

type propSpec struct {
	name        string
	kind        kind
	required    bool
	enum        []string
	fields      []propSpec // kindObject only
	unsupported bool       // accepted by the SDK but not implemented here: must be empty
	description string
}

var loggingValues = []string{"stdout", "stderr", "stdoutAndStderr", "none"}

// commonInputs are shared by local and remote commands.
var commonInputs = []propSpec{
	{name: "create", kind: kindString, description: "The command to run on create; also run on update when no update command is set."},
	{name: "update", kind: kindString, description: "The command to run when the inputs change."},
	{name: "delete", kind: kindString, description: "The command to run on delete."},
	{name: "stdin", kind: kindString, description: "Text passed to the command's standard input."},
	{name: "environment", kind: kindStringMap, description: "Additional environment variables."},
	{name: "triggers", kind: kindAnyList, description: "Any change to these values replaces the resource."},
	{name: "logging", kind: kindString, enum: loggingValues, description: "Which output streams are logged. Defaults to stdoutAndStderr."},
	{name: "addPreviousOutputInEnv", kind: kindBool, description: "Pass the previous stdout/stderr as PULUMI_COMMAND_STDOUT/PULUMI_COMMAND_STDERR. Defaults to true."},
}

var localOnlyInputs = []propSpec{
	{name: "dir", kind: kindString, description: "The working directory of the command."},
	{name: "interpreter", kind: kindStringList, description: "The program and arguments that run the command. Defaults to [\"/bin/sh\", \"-c\"]."},
	{name: "archivePaths", kind: kindStringList, unsupported: true},
	{name: "assetPaths", kind: kindStringList, unsupported: true},
}

// connectionFields are the fields of connection and of connection.proxy.
var connectionFields = []propSpec{
	{name: "host", kind: kindString, required: true},
	{name: "port", kind: kindInt},
	{name: "user", kind: kindString},
	{name: "privateKey", kind: kindString},
	{name: "privateKeyPassword", kind: kindString},
	{name: "password", kind: kindString},
	{name: "hostKey", kind: kindString},
	{name: "dialErrorLimit", kind: kindInt},
	{name: "perDialTimeout", kind: kindInt},
	{name: "agentSocketPath", kind: kindString},
}

var remoteOnlyInputs = []propSpec{
	{name: "connection", kind: kindObject, required: true,
		fields: append(append([]propSpec{}, connectionFields...),
			propSpec{name: "proxy", kind: kindObject, fields: connectionFields}),
		description: "How to reach the host over SSH."},
}

var localRunInputs = []propSpec{
	{name: "command", kind: kindString, required: true},
	{name: "stdin", kind: kindString},
	{name: "environment", kind: kindStringMap},
	{name: "logging", kind: kindString, enum: loggingValues},
	{name: "addPreviousOutputInEnv", kind: kindBool},
	{name: "dir", kind: kindString},
	{name: "interpreter", kind: kindStringList},
	{name: "archivePaths", kind: kindStringList, unsupported: true},
	{name: "assetPaths", kind: kindStringList, unsupported: true},
}

// outputOnly are the properties a command adds to its inputs.
var outputOnly = []string{"stdout", "stderr"}

// inputSpecs returns the input properties of a resource type, or nil when the
// type is not one this plugin serves.
func inputSpecs(typ string) []propSpec {
	switch typ {
	case LocalCommandType:
		return append(append([]propSpec{}, commonInputs...), localOnlyInputs...)
	case RemoteCommandType:
		return append(append([]propSpec{}, commonInputs...), remoteOnlyInputs...)
	}
	return nil
}
