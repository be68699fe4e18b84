package main

import (
	"context"
	"os/exec"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// About reports the node that Run would use (see nodeExecutable) and its version, for
// `pulumi about` and update metadata.
func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	info := req.GetInfo()
	nodeBin, err := nodeExecutable(info.GetRootDirectory(), info.GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, nodeBin, "--version").Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: nodeBin,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
		Metadata:   map[string]string{"languageHost": "gpmirror pulumi-language-nodejs " + hostVersion},
	}, nil
}

// GetProgramDependencies lists the npm packages installed for the program with their installed
// versions: the program's own dependencies, or everything reachable when transitive is asked.
func (h *host) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	info := req.GetInfo()
	programDir := info.GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd() //nolint:staticcheck // older engines only set this
	}
	pkgDir := findProgramPackageDir(programDir, info.GetRootDirectory())
	if pkgDir == "" {
		return &pulumirpc.GetProgramDependenciesResponse{}, nil
	}
	pkgs, err := walkDependencies(pkgDir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var deps []*pulumirpc.DependencyInfo
	for _, p := range pkgs {
		if !p.Direct && !req.GetTransitiveDependencies() {
			continue
		}
		key := p.Name + "@" + p.Pkg.Version
		if seen[key] {
			continue
		}
		seen[key] = true
		deps = append(deps, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Pkg.Version})
	}
	sort.Slice(deps, func(i, j int) bool {
		if deps[i].Name != deps[j].Name {
			return deps[i].Name < deps[j].Name
		}
		return deps[i].Version < deps[j].Version
	})
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}
