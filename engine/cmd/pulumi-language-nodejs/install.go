package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// InstallDependencies is called by `pulumi install`, `pulumi new` and the Automation API's
// install. This machine's only package source is the npm registry, and the project's
// node_modules is normally installed already, so: an existing node_modules is left alone; else
// the lock file is installed exactly (`npm ci`, or `npm install` without a lock file). Output is
// streamed back to the engine as it happens.
func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetDirectory() //nolint:staticcheck // older engines only set this
	}
	if pkgDir := findProgramPackageDir(dir, req.GetInfo().GetRootDirectory()); pkgDir != "" {
		dir = pkgDir
	}

	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()

	if st, err := os.Stat(filepath.Join(dir, "node_modules")); err == nil && st.IsDir() {
		fmt.Fprintf(stdout, "node_modules already present in %s; not installing dependencies\n", dir)
		return nil
	}

	name, args := installCommand(dir, resolveOptions(h.defaults, req.GetInfo()).PackageManager)
	command := strings.Join(append([]string{name}, args...), " ")
	fmt.Fprintf(stdout, "Installing dependencies in %s: %s\n", dir, command)
	cmd := exec.CommandContext(server.Context(), name, args...)
	cmd.Dir = dir
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("installing dependencies in %s with `%s` failed: %w", dir, command, err)
	}
	return nil
}

// installCommand chooses the install command: `npm ci` when package-lock.json exists (installs
// exactly what was locked), otherwise `npm install`; another package manager named in the
// runtime options gets a plain `install`.
func installCommand(dir, packageManager string) (string, []string) {
	switch packageManager {
	case "", "npm":
		if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err == nil {
			return "npm", []string{"ci"}
		}
		return "npm", []string{"install"}
	default:
		return packageManager, []string{"install"}
	}
}
