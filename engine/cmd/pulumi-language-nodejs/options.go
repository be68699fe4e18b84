package main

import (
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// runtimeDefaults are the values given on our command line. Pulumi.yaml's
// `runtime.options` (delivered per request in ProgramInfo.Options) take precedence, because
// the engine no longer passes runtime options as flags.
type runtimeDefaults struct {
	TypeScript     bool
	TSConfig       string
	NodeArgs       string
	PackageManager string
}

// runtimeOptions are the effective options for one request.
type runtimeOptions struct {
	TypeScript     bool
	TSConfig       string
	NodeArgs       []string
	PackageManager string
}

// resolveOptions merges the request's runtime options over the command-line defaults.
func resolveOptions(defaults runtimeDefaults, info *pulumirpc.ProgramInfo) runtimeOptions {
	opts := runtimeOptions{
		TypeScript:     defaults.TypeScript,
		TSConfig:       defaults.TSConfig,
		NodeArgs:       strings.Fields(defaults.NodeArgs),
		PackageManager: defaults.PackageManager,
	}
	if info == nil || info.GetOptions() == nil {
		return opts
	}
	m := info.GetOptions().AsMap()
	if v, ok := m["typescript"].(bool); ok {
		opts.TypeScript = v
	}
	if v, ok := m["tsconfig"].(string); ok && v != "" {
		opts.TSConfig = v
	}
	if v, ok := m["nodeargs"].(string); ok && v != "" {
		opts.NodeArgs = strings.Fields(v)
	}
	if v, ok := m["packagemanager"].(string); ok && v != "" {
		opts.PackageManager = v
	}
	return opts
}
