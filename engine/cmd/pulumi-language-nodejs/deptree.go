package main

import (
	"path/filepath"
	"sort"
)

// installedPackage is one npm package found by walking the program's dependency tree.
type installedPackage struct {
	Name   string
	Dir    string // real (symlink-free) directory of the package
	Direct bool   // listed in the program's own package.json
	Pkg    *packageJSON
}

// walkDependencies visits every package reachable from the package.json in programPkgDir,
// resolving each dependency the way Node does (nearest node_modules upwards from the requiring
// package's real directory). The program's own dependencies, devDependencies and
// optionalDependencies are roots; below that, dependencies, optionalDependencies and
// peerDependencies are followed. Dependencies that are not installed are skipped: this host
// only reports what is on disk and never installs or downloads anything.
func walkDependencies(programPkgDir string) ([]installedPackage, error) {
	root, err := readPackageJSON(filepath.Join(programPkgDir, "package.json"))
	if err != nil {
		return nil, err
	}
	rootDir := realDir(programPkgDir)

	type pending struct {
		fromDir string
		name    string
		direct  bool
	}
	var queue []pending
	for _, name := range sortedKeys(root.Dependencies, root.DevDependencies, root.OptionalDependencies) {
		queue = append(queue, pending{fromDir: rootDir, name: name, direct: true})
	}

	seen := map[string]bool{}
	var out []installedPackage
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]

		dir, ok := resolvePackageDir(next.fromDir, next.name)
		if !ok {
			continue
		}
		dir = realDir(dir)
		if seen[dir] {
			continue
		}
		seen[dir] = true

		pkg, err := readPackageJSON(filepath.Join(dir, "package.json"))
		if err != nil {
			// A broken package.json deep in node_modules should not stop a deployment.
			continue
		}
		out = append(out, installedPackage{Name: next.name, Dir: dir, Direct: next.direct, Pkg: pkg})
		for _, name := range sortedKeys(pkg.Dependencies, pkg.OptionalDependencies, pkg.PeerDependencies) {
			queue = append(queue, pending{fromDir: dir, name: name})
		}
	}
	return out, nil
}

// realDir resolves symlinks so that one package reached by two paths is visited once.
func realDir(dir string) string {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return r
	}
	return dir
}

// sortedKeys returns the union of the maps' keys in a stable order, so results are deterministic.
func sortedKeys(maps ...map[string]string) []string {
	set := map[string]bool{}
	for _, m := range maps {
		for k := range m {
			set[k] = true
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
