package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// exitCodeErrorReported is the code @pulumi/pulumi's runner exits with when it has already shown
// the error to the user through the engine (cmd/run/index.js,
// nodeJSProcessExitedAfterLoggingUserActionableMessage). The engine is then told to bail out
// quietly instead of printing a second, generic error.
const exitCodeErrorReported = 32

// Run executes the program: node <runner> <flags> <entry point> <args...>, in the program
// directory, and maps node's exit status to a RunResponse.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	programDir := info.GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd()
	}
	opts := resolveOptions(h.defaults, info)

	nodeBin, err := nodeExecutable(info.GetRootDirectory(), programDir)
	if err != nil {
		return nil, err
	}
	runner, err := locateRunner(programDir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	args := append(append([]string{}, opts.NodeArgs...), runner)
	args = append(args, runnerArgs(req, h.engine(), h.tracing)...)
	env, err := runnerEnv(req, opts)
	if err != nil {
		return nil, err
	}

	// The child dies with the RPC (engine cancelled it) or with this host (engine went away).
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	defer context.AfterFunc(h.ctx, stop)()

	cmd := exec.CommandContext(runCtx, nodeBin, args...)
	cmd.Dir = programDir
	cmd.Env = append(os.Environ(), env...)
	// The engine turns each line we write after the port handshake into program output, so the
	// program's console output reaches the user unchanged.
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	// Ask node to stop cleanly first; if it is still running after WaitDelay it is killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 10 * time.Second

	return runResponse(cmd.Run()), nil
}

// runnerArgs builds the flags @pulumi/pulumi/cmd/run/index.js parses with minimist (stopEarly:
// flags first, then the program, then the program's own arguments).
func runnerArgs(req *pulumirpc.RunRequest, engineAddress, tracing string) []string {
	var args []string
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name+"="+value)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", engineAddress)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("stack", req.GetStack())
	flag("pwd", req.GetPwd())
	flag("root-directory", req.GetInfo().GetRootDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if p := req.GetParallel(); p != 0 {
		flag("parallel", strconv.Itoa(int(p)))
	}
	flag("tracing", tracing)

	// The entry point is relative to the program directory; "." tells the runner to use
	// package.json's "main"/"exports" (or index.js/index.ts).
	program := req.GetInfo().GetEntryPoint()
	if program == "" {
		program = req.GetProgram() //nolint:staticcheck // older engines only set this
	}
	if program == "" {
		program = "."
	}
	args = append(args, program)
	return append(args, req.GetArgs()...)
}

// runnerEnv is the environment the SDK reads its configuration from (runtime/config.js and
// cmd/run/run.js).
func runnerEnv(req *pulumirpc.RunRequest, opts runtimeOptions) ([]string, error) {
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("encoding config secret keys: %w", err)
	}
	env := []string{
		"PULUMI_CONFIG=" + string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS=" + string(secretJSON),
	}
	if opts.TypeScript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.TSConfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.TSConfig)
	}
	return env, nil
}

// runResponse maps how node ended to what the engine expects.
func runResponse(err error) *pulumirpc.RunResponse {
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if status, ok := exitErr.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited unexpectedly: %v", status.Signal())}
		}
		switch code := exitErr.ExitCode(); code {
		case exitCodeErrorReported:
			return &pulumirpc.RunResponse{Bail: true}
		default:
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}
		}
	}
	return &pulumirpc.RunResponse{Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err)}
}
