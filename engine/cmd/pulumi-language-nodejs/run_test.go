package main

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestRunResponseExitCodes(t *testing.T) {
	if r := runResponse(exec.Command("sh", "-c", "exit 0").Run()); r.Bail || r.Error != "" {
		t.Errorf("exit 0: got %v", r)
	}
	// 32: the runner already showed the error; the engine must bail without another message.
	if r := runResponse(exec.Command("sh", "-c", "exit 32").Run()); !r.Bail || r.Error != "" {
		t.Errorf("exit 32: got %v, want Bail", r)
	}
	if r := runResponse(exec.Command("sh", "-c", "exit 3").Run()); r.Bail || !strings.Contains(r.Error, "3") {
		t.Errorf("exit 3: got %v, want an error naming the code", r)
	}
	if r := runResponse(exec.Command("sh", "-c", "kill -9 $$").Run()); r.Bail || r.Error == "" {
		t.Errorf("killed: got %v, want an error", r)
	}
}

func TestRunnerArgs(t *testing.T) {
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:1",
		Project:        "proj",
		Stack:          "dev",
		Pwd:            "/p",
		Organization:   "org",
		DryRun:         true,
		Parallel:       8,
		Args:           []string{"x"},
		Info:           &pulumirpc.ProgramInfo{RootDirectory: "/p", ProgramDirectory: "/p", EntryPoint: "index.ts"},
	}
	got := runnerArgs(req, "127.0.0.1:2", "")
	want := []string{
		"--monitor=127.0.0.1:1", "--engine=127.0.0.1:2", "--organization=org", "--project=proj",
		"--stack=dev", "--pwd=/p", "--root-directory=/p", "--dry-run", "--parallel=8", "index.ts", "x",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	req.Info.EntryPoint = ""
	if got := runnerArgs(req, "", ""); got[len(got)-2] != "." {
		t.Errorf("empty entry point should become \".\": %q", got)
	}
}

func TestRunnerEnvAndOptions(t *testing.T) {
	opts, err := structpb.NewStruct(map[string]any{"typescript": false, "tsconfig": "tsconfig.pulumi.json"})
	if err != nil {
		t.Fatal(err)
	}
	resolved := resolveOptions(runtimeDefaults{TypeScript: true}, &pulumirpc.ProgramInfo{Options: opts})
	if resolved.TypeScript || resolved.TSConfig != "tsconfig.pulumi.json" {
		t.Fatalf("options not applied: %+v", resolved)
	}
	env, err := runnerEnv(&pulumirpc.RunRequest{
		Config:           map[string]string{"proj:greeting": "hi"},
		ConfigSecretKeys: []string{"proj:pw"},
	}, runtimeOptions{TypeScript: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`PULUMI_CONFIG={"proj:greeting":"hi"}`,
		`PULUMI_CONFIG_SECRET_KEYS=["proj:pw"]`,
		"PULUMI_NODEJS_TYPESCRIPT=true",
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("got  %q\nwant %q", env, want)
	}
	// With no config at all the SDK still gets valid JSON.
	env, _ = runnerEnv(&pulumirpc.RunRequest{}, runtimeOptions{})
	if env[0] != "PULUMI_CONFIG={}" || env[1] != "PULUMI_CONFIG_SECRET_KEYS=[]" {
		t.Errorf("empty config: %q", env)
	}
}
