package command

import (
	"context"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Environment variable names for the previous command output.
const (
	EnvPrevStdout = "PULUMI_COMMAND_STDOUT"
	EnvPrevStderr = "PULUMI_COMMAND_STDERR"
)

// Ops carries out the resource operations; it knows nothing of gRPC.
type Ops struct {
	// Log sends a message to the engine's log; nil drops messages.
	Log func(sev diag.Severity, urn resource.URN, msg string)
	// NewRunner overrides how runners are made (tests); nil uses runnerFor.
	NewRunner func(typ string, in Inputs, log LogFunc) Runner
}

func (o *Ops) logFunc(urn resource.URN) LogFunc {
	return func(sev diag.Severity, msg string) {
		if o.Log != nil {
			o.Log(sev, urn, msg)
		}
	}
}

func runnerFor(typ string, in Inputs, log LogFunc) Runner {
	if typ == RemoteCommandType {
		return RemoteRunner{Conn: in.Connection, Log: log}
	}
	return LocalRunner{Interpreter: in.Interpreter, Dir: in.Dir}
}

// run runs one command of a resource, streaming the lines that logging allows.
func (o *Ops) run(ctx context.Context, typ string, urn resource.URN, op string, in Inputs,
	command string, props, prevState resource.PropertyMap,
) (Result, error) {
	log := o.logFunc(urn)
	mask := newSecretMask(props)
	spec := RunSpec{
		Op:      op,
		Command: command,
		Stdin:   in.Stdin,
		Env:     in.Environment,
		Logging: in.Logging,
		Sink:    func(_ Stream, line string) { log(diag.Info, mask.apply(line)) },
		Mask:    mask.apply,
	}
	if prevState != nil && in.AddPreviousOutputInEnv {
		stdout, stderr := previousOutput(prevState)
		spec.PrevEnv = map[string]string{EnvPrevStdout: stdout, EnvPrevStderr: stderr}
	}
	newRunner := o.NewRunner
	if newRunner == nil {
		newRunner = runnerFor
	}
	return newRunner(typ, in, log).Run(ctx, spec)
}

// withOutput returns props plus stdout and stderr; these are secret when an
// input that reaches the command is secret, since the output may echo it.
func withOutput(props resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	out := props.Copy()
	if outputIsSecret(props) {
		if !stdout.IsComputed() {
			stdout = resource.MakeSecret(stdout)
		}
		if !stderr.IsComputed() {
			stderr = resource.MakeSecret(stderr)
		}
	}
	out["stdout"], out["stderr"] = stdout, stderr
	return out
}

func unknownString() resource.PropertyValue {
	return resource.MakeComputed(resource.NewStringProperty(""))
}

func known(r Result) (resource.PropertyValue, resource.PropertyValue) {
	return resource.NewStringProperty(r.Stdout), resource.NewStringProperty(r.Stderr)
}

// Create runs the create command and returns the new state.
func (o *Ops) Create(ctx context.Context, typ string, urn resource.URN, inputs resource.PropertyMap, preview bool,
) (resource.PropertyMap, error) {
	if preview {
		return withOutput(inputs, unknownString(), unknownString()), nil
	}
	in, err := decodeInputs(typ, inputs)
	if err != nil {
		return nil, err
	}
	var res Result
	if in.Create != nil {
		if res, err = o.run(ctx, typ, urn, "create", in, *in.Create, inputs, nil); err != nil {
			return nil, err
		}
	}
	stdout, stderr := known(res)
	return withOutput(inputs, stdout, stderr), nil
}

// Update runs the update command, or the create command when there is no
// update command, and returns the new state. With neither, nothing runs and
// the previous output is kept.
func (o *Ops) Update(ctx context.Context, typ string, urn resource.URN, oldState, news resource.PropertyMap,
	preview bool,
) (resource.PropertyMap, error) {
	prevOut, prevErr := oldState["stdout"], oldState["stderr"]
	keepOld := func() resource.PropertyMap {
		stdout, stderr := plain(prevOut), plain(prevErr)
		if !stdout.IsString() {
			stdout = resource.NewStringProperty("")
		}
		if !stderr.IsString() {
			stderr = resource.NewStringProperty("")
		}
		return withOutput(news, stdout, stderr)
	}
	if preview {
		if hasCommand(news, "update") || hasCommand(news, "create") {
			return withOutput(news, unknownString(), unknownString()), nil
		}
		return keepOld(), nil
	}
	in, err := decodeInputs(typ, news)
	if err != nil {
		return nil, err
	}
	op, command := "update", in.Update
	if command == nil {
		op, command = "create", in.Create
	}
	if command == nil {
		return keepOld(), nil
	}
	res, err := o.run(ctx, typ, urn, op, in, *command, news, oldState)
	if err != nil {
		return nil, err
	}
	stdout, stderr := known(res)
	return withOutput(news, stdout, stderr), nil
}

func hasCommand(props resource.PropertyMap, k resource.PropertyKey) bool {
	v, ok := props[k]
	return ok && !v.IsNull()
}

// Delete runs the delete command with the inputs recorded in the state.
func (o *Ops) Delete(ctx context.Context, typ string, urn resource.URN, state resource.PropertyMap) error {
	in, err := decodeInputs(typ, state)
	if err != nil {
		return err
	}
	if in.Delete == nil {
		return nil
	}
	_, err = o.run(ctx, typ, urn, "delete", in, *in.Delete, state, state)
	return err
}

// Run serves the command:local:run function: run now, return the output.
func (o *Ops) Run(ctx context.Context, args resource.PropertyMap) (resource.PropertyMap, error) {
	in, err := decodeInputs(LocalRunFunction, args)
	if err != nil {
		return nil, err
	}
	if in.Create == nil || strings.TrimSpace(*in.Create) == "" {
		return nil, fmt.Errorf("command:local:run: missing required property \"command\"")
	}
	res, err := o.run(ctx, LocalRunFunction, "", "run", in, *in.Create, args, nil)
	if err != nil {
		return nil, err
	}
	stdout, stderr := known(res)
	out := args.Copy()
	secret := false
	for _, v := range args {
		secret = secret || v.ContainsSecrets()
	}
	if secret {
		stdout, stderr = resource.MakeSecret(stdout), resource.MakeSecret(stderr)
	}
	out["stdout"], out["stderr"] = stdout, stderr
	return out, nil
}
