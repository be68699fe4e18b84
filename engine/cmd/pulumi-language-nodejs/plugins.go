package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/blang/semver"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// requiredPackages lists the resource plugins declared by the packages installed for the
// program (package.json "pulumi": {"resource": true, ...}), so that the engine can load e.g.
// `command` v1.2.1 and `aws` v7.48.0 up front. It only reads files; it never downloads.
func requiredPackages(programDir, rootDir string) ([]*pulumirpc.PackageDependency, error) {
	pkgDir := findProgramPackageDir(programDir, rootDir)
	if pkgDir == "" {
		return nil, nil
	}
	pkgs, err := walkDependencies(pkgDir)
	if err != nil {
		return nil, fmt.Errorf("reading dependencies of %s: %w", filepath.Join(pkgDir, "package.json"), err)
	}

	seen := map[string]bool{}
	var out []*pulumirpc.PackageDependency
	for _, p := range pkgs {
		dep, err := packageDependency(p)
		if err != nil {
			return nil, err
		}
		if dep == nil {
			continue
		}
		key := dep.Name + "@" + dep.Version + "|" + dep.Server
		if dep.Parameterization != nil {
			key += "|" + dep.Parameterization.Name + "@" + dep.Parameterization.Version
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, dep)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}

// packageDependency turns one installed package into the plugin it declares, or nil.
func packageDependency(p installedPackage) (*pulumirpc.PackageDependency, error) {
	block := p.Pkg.Pulumi
	if block == nil || !block.Resource {
		return nil, nil
	}
	name := block.Name
	if name == "" {
		// Provider SDKs are conventionally @pulumi/<plugin>; drop any npm scope.
		name = p.Pkg.Name
		if i := strings.LastIndex(name, "/"); strings.HasPrefix(name, "@") && i >= 0 {
			name = name[i+1:]
		}
	}
	version := block.Version
	if version == "" {
		version = p.Pkg.Version
	}
	// The engine rejects the whole answer on one bad version, so fail here with the package named.
	if _, err := semver.ParseTolerant(version); err != nil {
		return nil, fmt.Errorf("package %s (%s) declares plugin %s with invalid version %q: %w",
			p.Pkg.Name, p.Dir, name, version, err)
	}
	dep := &pulumirpc.PackageDependency{
		Name:    name,
		Kind:    "resource",
		Version: version,
		Server:  block.Server,
	}
	if pz := block.Parameterization; pz != nil {
		dep.Parameterization = &pulumirpc.PackageParameterization{
			Name:    pz.Name,
			Version: pz.Version,
			Value:   pz.Value,
		}
	}
	return dep, nil
}

// requiredPlugins is the older GetRequiredPlugins view of the same data. Parameterized packages
// are left out: they are served by their base plugin, which the old RPC cannot express.
func requiredPlugins(programDir, rootDir string) ([]*pulumirpc.PluginDependency, error) {
	pkgs, err := requiredPackages(programDir, rootDir)
	if err != nil {
		return nil, err
	}
	var out []*pulumirpc.PluginDependency
	for _, p := range pkgs {
		if p.Parameterization != nil {
			continue
		}
		out = append(out, &pulumirpc.PluginDependency{
			Name:    p.Name,
			Kind:    p.Kind,
			Version: p.Version,
			Server:  p.Server,
		})
	}
	return out, nil
}
