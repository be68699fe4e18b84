package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// nodeExecutable picks the node binary that runs the program.
//
// Which node: `<project root>/node_modules/.bin/node` when it exists, then the same under the
// program directory, else `node` on PATH. The project pins Node 22 as an npm devDependency (the
// "node" package installs a real binary at node_modules/.bin/node) because @pulumi/pulumi 3.270
// requires Node >= 22 while this machine's system node is 20. Preferring the project's own node
// makes `pulumi up` use the pinned version without anyone having to adjust PATH.
func nodeExecutable(dirs ...string) (string, error) {
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		candidate := filepath.Join(dir, "node_modules", ".bin", "node")
		if isExecutableFile(candidate) {
			return candidate, nil
		}
	}
	path, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("could not find node: no node_modules/.bin/node in %v and none on PATH: %w", dirs, err)
	}
	return path, nil
}

// isExecutableFile reports whether path (after symlinks) is a regular file with an execute bit.
func isExecutableFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// locateRunner finds @pulumi/pulumi's program runner (cmd/run/index.js) the way Node's module
// resolution would from the program directory: the nearest node_modules walking upwards. The
// runner must come from the program's own @pulumi/pulumi so that the program and the runner share
// one copy of the SDK's runtime state.
func locateRunner(programDir string) (string, error) {
	dir, err := filepath.Abs(programDir)
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(dir, "node_modules", "@pulumi", "pulumi", "cmd", "run", "index.js")
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("could not find @pulumi/pulumi/cmd/run from " + programDir +
				": is @pulumi/pulumi installed (run `npm ci` in the project)?")
		}
		dir = parent
	}
}
